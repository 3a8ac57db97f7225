import numpy as np

from codelewm.eval.baselines import code_tokens, copy_energies, instruction_tokens, lexical_energies, random_energies


def test_copy_prefers_the_candidate_most_like_the_before_state() -> None:
    before = ["def f(x):\n    return x + 1\n"]
    cands = ["def f(x):\n    return x + 2\n", "class Z:\n    pass\n", "def f(x):\n    return x + 1\n"]
    e = copy_energies(before, cands)
    assert e.shape == (1, 3)
    assert np.argmin(e[0]) == 2 and e[0, 1] > e[0, 0]


def test_lexical_matches_instruction_to_changed_lines() -> None:
    before = "def f(count):\n    total = count + 1\n    return total\n"
    rename = "def f(count):\n    result = count + 1\n    return result\n"
    guard = "def f(count):\n    if count is None:\n        return None\n    total = count + 1\n    return total\n"
    e = lexical_energies(
        [before, before], ["Rename `total` to `result`.", "Return None early when `count` is None."], [rename, guard]
    )
    assert e[0, 0] < e[0, 1] and e[1, 1] < e[1, 0]
    assert lexical_energies([before], ["anything"], [before])[0, 0] == 0.0  # unchanged: no overlap


def test_tokenizers() -> None:
    assert {"x", "<=", "10"} <= code_tokens("if x <= 10:")
    assert "`" not in instruction_tokens("Use `<=` instead of `<`.") and "<=" in instruction_tokens("Use `<=`.")


def test_random_is_seeded() -> None:
    a = random_energies(2, 3, np.random.default_rng(0))
    assert np.array_equal(a, random_energies(2, 3, np.random.default_rng(0)))

"""Natural-language instruction templates for the synthetic edit operators.

Several phrasings per operator (chosen by the caller's rng) so the action encoder cannot key on one
fixed sentence; every template names the concrete identifiers/values of the edit so the instruction
is sufficient to tell sibling edits of the same before-state apart. ``FIX`` templates ask to undo a
mutation in the same literal style; ``DESCRIPTIVE`` ones name the kind of bug without the changed token
and ``GENERIC`` ones only the function (how real bug reports read: "Fix the bug in f.").
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

FORWARD: dict[str, tuple[str, ...]] = {
    "rename_variable": (
        "Rename the local variable `{old}` to `{new}` in `{func}`.",
        "In {func}, rename `{old}` to `{new}`.",
        "Use the name `{new}` instead of `{old}` for the local variable in `{func}`.",
        "Refactor `{func}`: the variable `{old}` should be called `{new}`.",
    ),
    "add_guard": (
        "Add a guard at the start of `{func}` that {guard_text} when `{param}` is {cond_text}.",
        "In {func}, check `{param}` first: if it is {cond_text}, {guard_verb}.",
        "Make `{func}` {guard_verb} early when the argument `{param}` is {cond_text}.",
    ),
    "off_by_one": (
        "Change `{old}` to `{new}` in `{func}`.",
        "In {func}, adjust the bound: `{old}` becomes `{new}`.",
        "Shift the boundary in `{func}` so that `{old}` reads `{new}`.",
    ),
    "swap_operator": (
        "Replace the `{old_op}` operator with `{new_op}` in `{expr}` inside `{func}`.",
        "In {func}, use `{new_op}` instead of `{old_op}` in `{expr}`.",
        "Change `{expr}` in `{func}` to use `{new_op}` rather than `{old_op}`.",
    ),
    "negate_condition": (
        "Invert the condition `{cond}` in `{func}`.",
        "In {func}, negate the test `{cond}` so it reads `{new}`.",
        "Flip the logic of the check `{cond}` in `{func}`.",
    ),
    "extract_variable": (
        "Extract `{expr}` into a local variable named `{name}` in `{func}`.",
        "In {func}, store `{expr}` in a new variable `{name}` before using it.",
        "Introduce a variable `{name}` holding `{expr}` in `{func}`.",
    ),
    "swap_args": (
        "Swap the arguments `{first}` and `{second}` in the call to `{callee}` in `{func}`.",
        "In {func}, pass `{second}` before `{first}` when calling `{callee}`.",
        "Reverse the order of `{first}` and `{second}` in `{callee}(...)` inside `{func}`.",
    ),
    "change_constant": (
        "Change the constant `{old}` to `{new}` in `{func}`.",
        "In {func}, replace `{old}` with `{new}` in `{context}`.",
        "Use `{new}` instead of `{old}` in `{func}` (`{context}`).",
    ),
    "remove_statement": (
        "Remove the statement `{stmt}` from `{func}`.",
        "In {func}, delete `{stmt}`.",
        "`{func}` should no longer execute `{stmt}`; drop that line.",
    ),
    "inline_variable": (
        "Inline the variable `{name}` in `{func}`: use `{expr}` directly.",
        "In {func}, remove the temporary `{name}` and use `{expr}` in its place.",
        "Get rid of the intermediate variable `{name}` in `{func}`.",
    ),
    "add_default_arg": (
        "Give the parameter `{param}` of `{func}` a default value of `{default}`.",
        "Make `{param}` optional in `{func}`, defaulting to `{default}`.",
        "In {func}, let `{param}` default to `{default}`.",
    ),
    "variable_misuse": (
        "In `{func}`, use `{new}` instead of `{old}` in `{context}`.",
        "Replace the variable `{old}` with `{new}` in `{context}` inside `{func}`.",
    ),
    "wrong_return": (
        "Make `{func}` return `{new}` instead of `{old}`.",
        "In {func}, change the returned value `{old}` to `{new}`.",
    ),
    "swap_compare": (
        "Change the comparison `{old_op}` to `{new_op}` in `{expr}` inside `{func}`.",
        "In {func}, test with `{new_op}` instead of `{old_op}` in `{expr}`.",
    ),
    "flip_bool": (
        "Change `{old}` to `{new}` in `{func}` (`{context}`).",
        "In {func}, use `{new}` rather than `{old}` in `{context}`.",
    ),
    "wrap_try": (
        "Wrap the body of `{func}` in a try/except that {handler_text} on `{exc}`.",
        "In {func}, catch `{exc}` around the whole body and {handler_verb}.",
        "Make `{func}` handle `{exc}`: wrap its body in try/except and {handler_verb}.",
    ),
}

FIX: dict[str, tuple[str, ...]] = {
    "rename_variable": (
        "Rename the variable `{new}` back to `{old}` in `{func}`.",
        "In {func}, the local `{new}` should be called `{old}` again.",
    ),
    "add_guard": (
        "Remove the early check on `{param}` at the start of `{func}`.",
        "In {func}, drop the guard that {guard_text} when `{param}` is {cond_text}.",
    ),
    "off_by_one": (
        "Fix the off-by-one error in `{func}`: `{new}` should be `{old}`.",
        "In {func}, restore the bound `{old}` (currently `{new}`).",
    ),
    "swap_operator": (
        "Fix `{func}`: the `{new_op}` should be `{old_op}` as in `{expr}`.",
        "In {func}, use `{old_op}` instead of `{new_op}` so the expression reads `{expr}`.",
    ),
    "negate_condition": (
        "Fix the inverted condition in `{func}`: `{new}` should be `{cond}`.",
        "In {func}, the test `{new}` is negated by mistake; make it `{cond}`.",
    ),
    "extract_variable": (
        "Inline the variable `{name}` in `{func}` and use `{expr}` directly.",
        "In {func}, remove the temporary `{name}` and write `{expr}` in place.",
    ),
    "swap_args": (
        "Fix the argument order in the call to `{callee}` in `{func}`: `{first}` must come before `{second}`.",
        "In {func}, `{callee}` receives `{second}` and `{first}` swapped; put them back.",
    ),
    "change_constant": (
        "Fix the constant in `{func}`: `{new}` should be `{old}`.",
        "In {func}, restore the value `{old}` (it is currently `{new}`).",
    ),
    "remove_statement": (
        "Restore the missing statement `{stmt}` in `{func}`.",
        "In {func}, add back `{stmt}`, which was dropped.",
    ),
    "inline_variable": (
        "Extract `{expr}` into a local variable `{name}` again in `{func}`.",
        "In {func}, reintroduce the variable `{name}` holding `{expr}`.",
    ),
    "add_default_arg": (
        "Make `{param}` a required parameter of `{func}` again (remove its default `{default}`).",
        "In {func}, drop the default value `{default}` of `{param}`.",
    ),
    "variable_misuse": (
        "Fix the variable mix-up in `{func}`: `{new}` should be `{old}` in `{context}`.",
        "In {func}, `{new}` is used where `{old}` was meant; fix it.",
    ),
    "wrong_return": (
        "Fix the return value of `{func}`: it should return `{old}`, not `{new}`.",
        "In {func}, return `{old}` again instead of `{new}`.",
    ),
    "swap_compare": (
        "Fix the comparison in `{func}`: `{new_op}` should be `{old_op}` as in `{expr}`.",
        "In {func}, the test uses `{new_op}` by mistake; it must be `{old_op}`.",
    ),
    "flip_bool": (
        "Fix the flag in `{func}`: `{new}` should be `{old}`.",
        "In {func}, restore `{old}` (it is currently `{new}`).",
    ),
    "wrap_try": (
        "Remove the try/except around the body of `{func}` that catches `{exc}`.",
        "In {func}, stop catching `{exc}`: unwrap the body from the try block.",
    ),
}


# Fix instructions that name the kind of bug and where, never the changed token or value ("descriptive").
DESCRIPTIVE: dict[str, tuple[str, ...]] = {
    "off_by_one": (
        "Fix the off-by-one error in {func}.",
        "A bound in {func} is off by one; fix it.",
        "{func} gets a loop bound or comparison wrong by one. Fix it.",
    ),
    "swap_operator": (
        "Fix the wrong operator in an expression in {func}.",
        "{func} applies the wrong operator in one expression; fix it.",
    ),
    "negate_condition": (
        "A condition in {func} is inverted; fix it.",
        "Fix the negated check in {func}.",
    ),
    "change_constant": (
        "Fix the wrong numeric constant in {func}.",
        "{func} uses an incorrect number somewhere; fix it.",
    ),
    "remove_statement": (
        "{func} is missing a statement; restore it.",
        "A line was dropped from {func}; put it back.",
    ),
    "swap_args": (
        "Fix the argument order of a call in {func}.",
        "{func} passes arguments to a call in the wrong order; fix it.",
    ),
    "variable_misuse": (
        "{func} uses the wrong variable somewhere; fix it.",
        "Fix the variable mix-up in {func}.",
    ),
    "wrong_return": (
        "{func} returns the wrong value; fix it.",
        "Fix the return value of {func}.",
    ),
    "swap_compare": (
        "Fix the wrong comparison in {func}.",
        "A comparison operator in {func} is wrong; fix it.",
    ),
    "flip_bool": (
        "A boolean flag in {func} has the wrong value; fix it.",
        "Fix the wrong boolean value in {func}.",
    ),
}

# Fix instructions a user writes before finding the bug ("generic"): only the function is named.
GENERIC: tuple[str, ...] = (
    "Fix the bug in {func}.",
    "{func} has a bug; fix it.",
    "There is a bug in {func}. Please fix it.",
    "{func} does not work correctly. Fix it.",
    "{func} returns wrong results; fix it.",
    "Make {func} behave correctly.",
    "Something is wrong in {func}; find and fix the bug.",
)


def render(templates: tuple[str, ...], meta: dict[str, Any], rng: random.Random) -> str:
    return rng.choice(templates).format(**meta)


def stable_rng(*parts: Any) -> random.Random:
    """A rng seeded by content, so a derived instruction is deterministic without a caller seed."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return random.Random(int.from_bytes(hashlib.sha256(blob).digest()[:8], "big"))

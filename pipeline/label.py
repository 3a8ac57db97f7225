"""DVC stage label: run the bug-fix groups' doctests in the sandbox; quarantine wrong fixes that pass."""

from codelewm.data.label import run_label
from pipeline._common import io_stage

main = io_stage(run_label, "label", __doc__)

if __name__ == "__main__":
    main()

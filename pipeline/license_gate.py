"""DVC stage license-gate: keep rows whose SPDX licence is allow-listed, quarantine the rest."""

from codelewm.data.license import run_license_gate
from pipeline._common import io_stage

main = io_stage(run_license_gate, "license", __doc__)

if __name__ == "__main__":
    main()

"""DVC stage dedup: exact + MinHash-LSH near-dup removal, benchmark-overlap removal, group split."""

from codelewm.data.dedup import run_dedup
from pipeline._common import io_stage

main = io_stage(run_dedup, "dedup", __doc__)

if __name__ == "__main__":
    main()

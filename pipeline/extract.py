"""DVC stage extract: CodeState + EditAction views, tokenizer trained on the train split, token ids."""

from codelewm.data.extract import run_extract
from pipeline._common import io_stage

main = io_stage(run_extract, "extract", __doc__)

if __name__ == "__main__":
    main()

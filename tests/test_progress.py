"""Progress logs of a running stage: documents done, rate and ETA from the executors' accumulator."""

import gzip
import json
import re

from core.progress import StageProgress, progress_line
from stages.dedup_sentence import DedupSentenceStage
from stages.heuristics import HeuristicsStage
from stages.normalize import NormalizeStage
from tests.conftest import shared_data


def test_progress_line_gives_count_share_rate_and_eta():
    assert progress_line("[3/9 heuristics]", 0, 1000, 5) == (
        "[3/9 heuristics] 0 of 1,000 documents so far (counts arrive as tasks finish), 0m05s elapsed"
    )
    assert progress_line("[x]", 250, 1000, 50) == (
        "[x] 250 of 1,000 documents (25.0%), 5 documents/s, ETA 2m30s, 0m50s elapsed"
    )
    assert progress_line("[x]", 1_000, 10_000, 3600) == (
        "[x] 1,000 of 10,000 documents (10.0%), 0 documents/s, ETA 9h00m, 1h00m elapsed"
    )
    assert progress_line("[x]", 1000, 1000, 61).startswith("[x] all 1,000 documents processed; finishing the stage")


def web_pages(spark, count: int):
    with gzip.open(shared_data("web", "pages_wet_like.jsonl.gz"), "rt", encoding="utf-8") as f:
        rows = [(f"p{i:04d}", "web", json.loads(line)["text"]) for i, line in zip(range(count), f)]
    return spark.createDataFrame(rows, "id string, source string, text string").repartition(8, "id")


def test_stage_progress_counts_each_input_document_once_and_logs_lines(spark, stage_ctx, tmp_path, caplog):
    docs = web_pages(spark, 300)
    caplog.set_level("INFO", logger="corpus")
    # dedup_sentence passes over documents twice; heuristics scores in a pandas UDF (counted once, not per reference)
    for stage in (NormalizeStage(), DedupSentenceStage(), HeuristicsStage()):
        caplog.clear()
        with StageProgress(spark, f"[{stage.name}]", 300, interval=0.05) as progress:
            stage.apply(docs, stage_ctx).write.parquet(str(tmp_path / stage.name))
        assert progress.done == 300, stage.name
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"[{stage.name}] ")]
        assert lines and all(re.search(r" (\d[\d,]*|all 300) (of 300 )?documents", line) for line in lines)
    with StageProgress(spark, "[off]", 300, interval=0) as progress:
        NormalizeStage().apply(docs, stage_ctx).write.parquet(str(tmp_path / "off"))
    assert progress.done == 300 and not progress.thread.is_alive()


def test_the_shards_tokenizing_pass_logs_progress(spark, tmp_path, caplog):
    from tests.test_shards import train_small_tokenizer
    from trainer_output.mixture import MixtureConfig
    from trainer_output.shards import ShardsConfig, write_shards

    caplog.set_level("INFO", logger="corpus")
    tokenizer = train_small_tokenizer(tmp_path / "tokenizer.json")
    docs = web_pages(spark, 300)
    manifest = write_shards(docs, tokenizer, tmp_path / "out", ShardsConfig(), MixtureConfig(), 1, "h", 0.05)
    assert sum(s["documents"] for s in manifest["shards"]) == 300
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[shards] tokenizing: ")]
    assert lines and all(" of 300 documents" in line or "all 300 documents" in line for line in lines)

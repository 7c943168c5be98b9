"""Child process: resolve FEBRL with Splink 4, set up as Splink's own FEBRL examples are.

One file is deduplicated with the settings of Splink's FEBRL3 example; two files are linked
(``link_only``) with the detailed model of its FEBRL4 example. Both cluster at 0.99, as the
FEBRL4 example does. Writes ``source|rec_id`` -> cluster to ``--labels`` and prints one JSON
line with the wall time and peak memory.

    python -m bench.run_splink_febrl febrl3=bench/out/febrl3.csv --labels out.json
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Any

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

READ = """
select * replace (
    trim(cast(date_of_birth as varchar)) as date_of_birth,
    trim(cast(soc_sec_id as varchar)) as soc_sec_id,
    trim(cast(postcode as varchar)) as postcode,
    trim(cast(street_number as varchar)) as street_number
), ? as source_name
from read_csv(?, header = true, all_varchar = true)
"""


def dedupe_settings() -> tuple[SettingsCreator, list[Any], list[Any]]:
    """Splink's FEBRL3 example: settings, deterministic rules, EM blocking rules."""
    blocking: list[Any] = [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    deterministic = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "date_of_birth"),
        "l.given_name = r.surname and l.surname = r.given_name "
        "and l.date_of_birth = r.date_of_birth",
    ]
    return settings, deterministic, [block_on("date_of_birth"), block_on("postcode")]


def link_settings() -> tuple[SettingsCreator, list[Any], list[Any]]:
    """Splink's FEBRL4 example (its detailed model)."""
    blocking: list[Any] = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
    )
    deterministic = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
    return settings, deterministic, [block_on("date_of_birth"), block_on("postcode")]


def scale_settings() -> tuple[SettingsCreator, list[Any], list[Any]]:
    """One file deduplicated at a million records: the FEBRL4 example's detailed comparisons,
    with blocking rules that pair no common value alone (the FEBRL3 example blocks on a given
    name, or a surname, alone: a common one pairs tens of thousands of people with each other
    at this size), and EM on date of birth, then on names and date of birth."""
    blocking: list[Any] = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "postcode"),
        block_on("given_name", "surname", "date_of_birth"),
        "l.given_name = r.surname and l.surname = r.given_name "
        "and l.date_of_birth = r.date_of_birth",
        block_on("surname", "date_of_birth"),
        block_on("given_name", "date_of_birth"),
        block_on("date_of_birth", "postcode"),
        block_on("street_number", "postcode"),
        block_on("street_number", "address_1", "suburb"),
    ]
    settings, deterministic, _ = link_settings()
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=settings.comparisons,
        retain_intermediate_calculation_columns=False,
    )
    return (
        settings,
        deterministic,
        [
            block_on("date_of_birth"),
            block_on("given_name", "surname", "date_of_birth"),
        ],
    )


def main() -> None:
    """Train as the example does, predict, cluster at 0.99; report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", help="SOURCE=PATH, one per file")
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument(
        "--scale", action="store_true", help="one large file: blocking rules for a million"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    connection = duckdb.connect()
    tables = []
    for index, spec in enumerate(args.files):
        source, _, path = spec.partition("=")
        connection.execute(f"create table t{index} as {READ}", [source, path])
        tables.append(f"t{index}")
    link = len(tables) > 1
    if args.scale:
        settings, deterministic, em_rules = scale_settings()
    else:
        settings, deterministic, em_rules = link_settings() if link else dedupe_settings()
    db_api = DuckDBAPI(connection=connection)
    linker = Linker(tables if link else tables[0], settings, db_api=db_api)
    linker.training.estimate_probability_two_random_records_match(
        deterministic, recall=0.8 if link else 0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=link or args.scale
        )
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.99
    )
    rows = clusters.as_duckdbpyrelation().select("source_name, rec_id, cluster_id").fetchall()
    seconds = time.perf_counter() - start
    args.labels.write_text(json.dumps({f"{s}|{r}": str(c) for s, r, c in rows}))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak}))


if __name__ == "__main__":
    main()

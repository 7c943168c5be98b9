"""Child process: resolve a benchmark CSV with Splink 4 on DuckDB, as its documentation advises.

Cleaning happens in DuckDB SQL (Splink expects standardised columns): lower-case and trimmed
text, the support desk's full name split into first and last name, dates parsed to ISO, phones
reduced to digits, postcodes without spaces. Then: prior from deterministic rules, u from
random sampling, m by EM sessions on several blocking rules, predict, cluster. Prints one JSON
line with wall time and peak memory and writes the cluster label of every row to ``--labels``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import duckdb
import numpy as np
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

CLEAN = """
create table people as
with raw as (
    select * from read_csv(?, header = true, all_varchar = true)
), names as (
    select *,
        nullif(trim(lower(coalesce(first_name, split_part(trim(full_name), ' ', 1)))), '')
            as first_clean,
        nullif(trim(lower(coalesce(
            last_name,
            nullif(trim(substr(
                trim(full_name), length(split_part(trim(full_name), ' ', 1)) + 2
            )), '')
        ))), '') as last_clean
    from raw
)
select
    cast(record_id as bigint) as unique_id,
    first_clean as first_name,
    last_clean as last_name,
    nullif(trim(lower(email)), '') as email,
    nullif(regexp_replace(phone, '[^0-9]', '', 'g'), '') as phone,
    cast(coalesce(
        try_strptime(birth_date, '%Y-%m-%d'),
        try_strptime(birth_date, '%m/%d/%Y'),
        try_strptime(birth_date, '%d.%m.%Y'),
        try_strptime(birth_date, '%d/%m/%Y'),
        try_strptime(birth_date, '%Y%m%d')
    ) as date) as birth_date,
    nullif(trim(lower(address_line1)), '') as address_line1,
    nullif(trim(lower(city)), '') as city,
    nullif(upper(regexp_replace(postcode, '[^0-9A-Za-z]', '', 'g')), '') as postcode
from names
"""


def settings() -> SettingsCreator:
    """Comparisons and prediction blocking rules, following Splink's documented examples."""
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_line1", [0.9, 0.7]),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.PostcodeComparison("postcode"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("first_name", "last_name"),
            block_on("last_name", "postcode"),
            block_on("birth_date", "postcode"),
            block_on("substr(first_name, 1, 1)", "last_name", "city"),
            block_on("first_name", "birth_date"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def main() -> None:
    """Train, predict and cluster; report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--threshold", type=float, default=0.95)
    args = parser.parse_args()
    start = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(CLEAN, [str(args.data)])
    table = connection.table("people")
    linker = Linker(table, settings(), db_api=DuckDBAPI(connection))
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("first_name", "last_name", "birth_date")], recall=0.7
    )
    training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "last_name"))
    training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=args.threshold
    )
    rows = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchnumpy()
    seconds = time.perf_counter() - start
    ids = rows["unique_id"].astype(np.int64)
    _, codes = np.unique(rows["cluster_id"].astype(str), return_inverse=True)
    labels = np.empty(int(ids.max()) + 1, dtype=np.int64)
    labels[ids] = codes
    np.save(args.labels, labels)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak}))


if __name__ == "__main__":
    main()

"""Training and the model: EM without labels, term frequencies, serialization, accuracy."""

from __future__ import annotations

import dataclasses
from collections import Counter
from itertools import combinations

import numpy as np
import pytest

from app.matching import (
    Contribution,
    InputRecord,
    MatchConfig,
    Matcher,
    MatchModel,
    ScoredEdge,
    train,
)
from app.matching.train import ModelRefused
from bench.febrl import EXTRA_TYPES, generate
from bench.metrics import bcubed, pairwise
from connectors.sandbox.people import generate_records


@pytest.fixture(scope="module")
def febrl() -> list[InputRecord]:
    """A FEBRL-like data set: people with corrupted duplicates, soc_sec_id declared."""
    return [InputRecord(r.record_id, "f", r.canonical()) for r in generate(3000, seed=5)]


@pytest.fixture(scope="module")
def truth() -> dict[int, int]:
    return {r.record_id: r.person_id for r in generate(3000, seed=5)}


@pytest.fixture(scope="module")
def model(febrl: list[InputRecord], config: MatchConfig) -> MatchModel:
    return train(febrl, config, EXTRA_TYPES)


def _labels(matcher: Matcher, records: list[InputRecord], truth: dict[int, int]):  # type: ignore[no-untyped-def]
    clusters = matcher.resolve(records).clustering.clusters
    ids = [r for cluster in clusters for r in cluster]
    predicted = np.array([i for i, cluster in enumerate(clusters) for _ in cluster])
    return predicted, np.array([truth[r] for r in ids])


def test_model_round_trips_through_json(model: MatchModel) -> None:
    assert MatchModel.from_json(model.to_json()) == model


def test_declared_identifier_gets_its_own_m_and_u(model: MatchModel) -> None:
    ssn = next(p for p in model.parameters if p.attribute == "soc_sec_id")
    assert ssn.labels == ("exact", "edits<=1", "edits<=2", "different")
    assert ssn.m[0] > 0.5 > ssn.u[0]


def test_a_common_surname_weighs_less_than_a_rare_one(
    model: MatchModel, config: MatchConfig
) -> None:
    matcher = Matcher(config, EXTRA_TYPES, model)
    common = max(model.term_frequencies["last_name"].values.items(), key=lambda kv: kv[1])[0]

    def weight(surname: str) -> float:
        a = matcher.prepare(InputRecord(1, "a", {"last_name": surname}))
        b = matcher.prepare(InputRecord(2, "b", {"last_name": surname}))
        return matcher.compare(a, b).weight

    assert weight(common) < weight("zzyzxqueen") - 2


@pytest.mark.parametrize("trained", [False, True])
def test_febrl_like_data_resolves_accurately(
    febrl: list[InputRecord],
    truth: dict[int, int],
    model: MatchModel,
    config: MatchConfig,
    trained: bool,
) -> None:
    matcher = Matcher(config, EXTRA_TYPES, model if trained else None)
    predicted, actual = _labels(matcher, febrl, truth)
    assert pairwise(predicted, actual).precision >= 0.995
    assert bcubed(predicted, actual).f1 >= 0.98


def test_batch_scores_equal_real_time_scores(
    febrl: list[InputRecord], model: MatchModel, config: MatchConfig
) -> None:
    matcher = Matcher(config, EXTRA_TYPES, model)
    records = febrl[:600]
    batch = matcher.resolve(records)
    prepared = {r.id: matcher.prepare(r) for r in records}
    for edge in list(batch.edges)[:200]:
        live = matcher.score_candidates(prepared[edge.right], [prepared[edge.left]])
        assert live == [edge]


def test_a_value_held_by_more_records_than_the_cap_carries_no_weight(config: MatchConfig) -> None:
    staff = [
        {"first_name": name, "last_name": "Ruiz", "phone": "+1 213 555 0100"}
        for name in ("Ana", "Luis", "Mei", "Raj", "Olga", "Tom")
    ]
    customers = [
        {"first_name": f"Cliente{n}", "last_name": f"Apellido{n}", "phone": f"+1 305 555 {n:04d}"}
        for n in range(30)
        for _ in range(2)
    ]
    records = [InputRecord(i, "crm", p) for i, p in enumerate([*staff, *customers])]
    small_cap = dataclasses.replace(config, generic_key_cap=3)
    model = train(records, small_cap)
    assert model.generic_values["phone"] == {"+12135550100"}
    matcher = Matcher(small_cap, model=model)

    def phone_weight(left: InputRecord, right: InputRecord) -> float:
        edge = matcher.compare(matcher.prepare(left), matcher.prepare(right))
        return next(c.weight for c in edge.contributions if c.attribute == "phone")

    assert phone_weight(records[6], records[7]) > 5
    assert phone_weight(records[0], records[1]) == 0.0
    assert MatchModel.from_json(model.to_json()) == model


def _quickly_trained(records: list[InputRecord], config: MatchConfig) -> tuple[Matcher, MatchModel]:
    """A matcher with a model trained on ``records`` (fewer random pairs, for speed)."""
    quick = dataclasses.replace(
        config, model=dataclasses.replace(config.model, u_sample_pairs=10**5)
    )
    model = train(records, quick)
    return Matcher(quick, model=model), model


def _weight(matcher: Matcher, left: InputRecord, right: InputRecord, attribute: str) -> float:
    """What agreeing on ``attribute`` contributes to the pair's match weight."""
    edge = matcher.compare(matcher.prepare(left), matcher.prepare(right))
    return next(c.weight for c in edge.contributions if c.attribute == attribute)


def test_an_email_that_people_with_different_given_names_share_weighs_as_its_frequency(
    config: MatchConfig,
) -> None:
    family = "lopez.family@example.com"
    household = [
        {"first_name": "Paula", "last_name": "Lopez", "email": family},
        {"first_name": "Paula", "email": family},
        {"first_name": "Juan", "last_name": "Lopez", "email": family},
    ]
    # Most customers have one record, some two; each has an address of their own.
    customers = [
        {"first_name": f"Cliente{n}", "last_name": f"Apellido{n}", "email": f"c{n}@example.com"}
        for n in range(4000)
        for _ in range(1 + (n % 10 == 0))
    ]
    records = [InputRecord(i, "crm", p) for i, p in enumerate([*household, *customers])]
    matcher, model = _quickly_trained(records, config)

    paulas = _weight(matcher, records[0], records[1], "email")
    one_customer = _weight(matcher, records[3], records[4], "email")
    assert records[3].attributes == records[4].attributes
    assert paulas < one_customer - 4
    # The model keeps the shared address's frequency, not the address.
    assert family not in model.to_json()
    assert MatchModel.from_json(model.to_json()) == model


def test_a_shared_phone_never_weighs_more_than_a_personal_one(config: MatchConfig) -> None:
    # A switchboard on 300 records makes agreeing on a phone common on average; the family's
    # landline is rarer than that average, yet no stronger evidence of one person.
    switchboard = [{"first_name": f"Staff{n}", "phone": "+1 213 555 0100"} for n in range(300)]
    family = [
        {"first_name": name, "last_name": "Okafor", "phone": "+1 312 555 0199"}
        for name in ("Ada", "Ada", "Obi")
    ]
    customers = [
        {"first_name": f"Cliente{n}", "last_name": f"Apellido{n}", "phone": f"+1 305 555 {n:04d}"}
        for n in range(2000)
        for _ in range(1 + (n % 10 == 0))
    ]
    people = [*family, *switchboard, *customers]
    records = [InputRecord(i, "crm", p) for i, p in enumerate(people)]
    matcher, _ = _quickly_trained(records, config)

    def phone_weight(left: InputRecord, right: InputRecord) -> float:
        return _weight(matcher, left, right, "phone")

    customer = len(family) + len(switchboard)  # Cliente0's two records
    assert people[customer] == people[customer + 1]
    assert phone_weight(records[0], records[1]) <= phone_weight(
        records[customer], records[customer + 1]
    )


def _partition_by_content(
    matcher: Matcher, people: list[dict[str, str]], order: list[int], *, train: bool
) -> set[frozenset[int]]:
    """Resolve ``people`` arriving in ``order`` (ids follow arrival, as a store's row ids do);
    the partition named by each record's position in ``people``."""
    records = [InputRecord(i, "crm", people[p]) for i, p in enumerate(order)]
    clusters = matcher.resolve(records, train=train).clustering.clusters
    return {frozenset(order[i] for i in cluster) for cluster in clusters}


def test_the_fitted_model_does_not_depend_on_the_order_records_arrived_in(
    config: MatchConfig,
) -> None:
    # Random pairs, candidate samples and sums are taken in the order of the records' content:
    # the same records in another order, under other ids, give the very same model.
    people = [r.canonical() for r in generate(1200, seed=12)]
    shuffled = np.random.default_rng(4).permutation(len(people)).tolist()
    matcher = Matcher(config, EXTRA_TYPES)
    first = matcher.train([InputRecord(i, "crm", p) for i, p in enumerate(people)])
    second = matcher.train([InputRecord(i, "crm", people[p]) for i, p in enumerate(shuffled)])
    assert first == second


@pytest.mark.parametrize("train", [False, True])
def test_the_partition_does_not_depend_on_the_order_records_arrived_in(
    config: MatchConfig, train: bool
) -> None:
    people = [r.canonical() for r in generate(1500, seed=11)]
    matcher = Matcher(config, EXTRA_TYPES)
    rng = np.random.default_rng(3)
    orders = [list(range(len(people))), *(rng.permutation(len(people)).tolist() for _ in range(2))]
    partitions = [_partition_by_content(matcher, people, order, train=train) for order in orders]
    assert partitions[0] == partitions[1] == partitions[2]
    assert len(partitions[0]) < len(people)


def test_calibration_measures_the_prior_from_the_store(config: MatchConfig) -> None:
    # 1,000 people, each with three records: two random records are one person with
    # probability 2 / 2,999; calibration finds about that, whatever the default assumed.
    people = [
        {"first_name": f"Given{n}", "last_name": f"Family{n}", "email": f"p{n}@example.com"}
        for n in range(1000)
    ]
    records = [InputRecord(i, "crm", people[i // 3]) for i in range(3000)]
    model = Matcher(config).calibrate(records)
    assert model.records == 3000
    assert model.duplicates == pytest.approx(2.0, rel=0.25)
    assert model.prior == pytest.approx(2 / 2999, rel=0.25)
    assert model.for_store(30_000).prior == pytest.approx(model.prior / 10, rel=0.01)


def test_training_refuses_a_model_whose_weights_move_on_too_little_evidence(
    febrl: list[InputRecord], config: MatchConfig
) -> None:
    # Asked for more expected matches than any comparison has, and allowed almost no move,
    # training refuses the model it fitted and says which weights moved.
    strict = dataclasses.replace(
        config,
        model=dataclasses.replace(config.model, min_change_support=10**9, max_weight_change=0.1),
    )
    with pytest.raises(ModelRefused, match=r"first_name .* bits on .* expected matches"):
        Matcher(strict, EXTRA_TYPES).train(febrl[:800])


def test_resolving_the_frame_a_model_was_fitted_on_gives_what_a_fresh_frame_gives(
    febrl: list[InputRecord], config: MatchConfig
) -> None:
    # Fitting keeps the levels of the pairs it compared on the frame, and resolving that frame
    # scores them instead of comparing again: the edges and the partition must be the ones a
    # frame that was never fitted on gives.
    matcher = Matcher(config, EXTRA_TYPES)
    fitted_on = matcher.build_frame(febrl)
    model, _ = matcher.fit_frame(fitted_on)
    assert fitted_on.blocked is not None and fitted_on.blocked.levels is not None
    scoring = matcher.with_model(model)
    reused = scoring.resolve_frame(fitted_on)
    fresh = scoring.resolve_frame(scoring.build_frame(febrl))
    assert [(e.left, e.right, e.weight) for e in reused.edges] == [
        (e.left, e.right, e.weight) for e in fresh.edges
    ]
    assert len(reused.edges) > 1000
    assert set(reused.clustering.clusters) == set(fresh.clustering.clusters)


# -- the records' sources ---------------------------------------------------------------------


def _source_weights(model: MatchModel) -> tuple[float, float]:
    """What one source, and two different ones, weigh under a model (bits)."""
    source = next(p for p in model.parameters if p.attribute == "source")
    same, different, _ = source.weights().tolist()
    return same, different


def _department_records(count: int, seed: int) -> tuple[list[InputRecord], float]:
    """Synthetic department records (sales, support, marketing) and the share of one person's
    pairs of records that one department holds (the truth the source's m should find)."""
    people = list(generate_records(count, seed=seed))
    records = [InputRecord(i, r.department, r.attributes) for i, r in enumerate(people)]
    departments: dict[str, list[str]] = {}
    for r in people:
        departments.setdefault(r.person_id, []).append(r.department)
    pairs = [pair for held in departments.values() for pair in combinations(held, 2)]
    return records, sum(a == b for a, b in pairs) / len(pairs)


def test_sources_weigh_nothing_before_the_model_is_fitted(matcher: Matcher) -> None:
    ana = {"first_name": "Ana", "last_name": "Ruiz", "postcode": "28001"}

    def scored(left: str, right: str) -> ScoredEdge:
        return matcher.compare(
            matcher.prepare(InputRecord(1, left, ana)), matcher.prepare(InputRecord(2, right, ana))
        )

    one, two = scored("crm", "crm"), scored("crm", "shop")
    assert one.weight == two.weight
    # Explanations show the comparison all the same.
    assert one.contributions[-1] == Contribution("source", "exact", 0.0, "crm", "crm")
    assert two.contributions[-1] == Contribution("source", "different", 0.0, "crm", "shop")


def test_a_store_of_one_source_resolves_as_if_sources_were_not_compared(
    febrl: list[InputRecord], model: MatchModel, config: MatchConfig, truth: dict[int, int]
) -> None:
    # One file deduplicated (FEBRL 1-3): every pair comes from the one source, which says
    # nothing about who is who.
    assert _source_weights(model) == (0.0, 0.0)
    blind = dataclasses.replace(config, compare_sources=False)
    partitions = [
        set(Matcher(c, EXTRA_TYPES).resolve(febrl, train=True).clustering.clusters)
        for c in (config, blind)
    ]
    assert partitions[0] == partitions[1]
    assert len(partitions[0]) < len(febrl)


@pytest.mark.parametrize("train", [False, True])
def test_two_records_of_one_department_weigh_less_than_two_of_different_ones(
    config: MatchConfig, train: bool
) -> None:
    # A department rarely holds one person twice: two of its records sharing a name are
    # relatives or colleagues far more often. Fitting measures it: u is the share of random
    # pairs that one department holds, m the share among the pairs the rest makes matches.
    records, truth = _department_records(3000, seed=3)
    model, _ = Matcher(config).fit(records, train=train)
    source = next(p for p in model.parameters if p.attribute == "source")
    counts = Counter(r.source for r in records).values()
    assert source.u[0] == pytest.approx(sum(n * (n - 1) for n in counts) / (3000 * 2999))
    assert truth <= source.m[0] <= 3 * truth
    same, different = _source_weights(model)
    assert same < -2.5 and different > 0.4
    matcher = Matcher(config, model=model)
    relatives = {"first_name": "Dana", "last_name": "Whitfield", "postcode": "02139"}
    edges = [
        matcher.compare(
            matcher.prepare(InputRecord(1, "sales", relatives)),
            matcher.prepare(InputRecord(2, other, relatives)),
        )
        for other in ("sales", "marketing")
    ]
    assert edges[1].weight - edges[0].weight == pytest.approx(different - same)


def test_two_files_of_one_person_each_keep_pairs_of_one_file_far_apart(
    config: MatchConfig,
) -> None:
    # A link of two files that each hold a person once (FEBRL4): no pair of one file is a
    # match, and the fitted model says so strongly.
    people: dict[int, list[dict[str, str]]] = {}
    for r in generate(3000, seed=5):
        people.setdefault(r.person_id, []).append(r.canonical())
    pairs = [held[:2] for held in people.values() if len(held) > 1]
    records = [
        InputRecord(2 * n + side, "ab"[side], values)
        for n, pair in enumerate(pairs)
        for side, values in enumerate(pair)
    ]
    model, _ = Matcher(config, EXTRA_TYPES).fit(records)
    same, different = _source_weights(model)
    # u is a half either way; m of one file is only what the pseudo-matches pull it to.
    assert same < -4 and 0.9 < different < 1.0


def test_one_stray_record_of_a_second_source_makes_no_source_weigh(
    febrl: list[InputRecord], config: MatchConfig
) -> None:
    # A file deduplicated, plus one record that came in through another source: the matches
    # found would put well under one pair across sources even if sources said nothing, so
    # seeing none there is no evidence (it weighed -5.5 bits on every pair across sources).
    stray = [dataclasses.replace(febrl[0], source="webform"), *febrl[1:]]
    model, _ = Matcher(config, EXTRA_TYPES).fit(stray)
    assert _source_weights(model) == (0.0, 0.0)


def test_sources_weigh_nothing_unfitted_whatever_config_guesses(config: MatchConfig) -> None:
    # A config of one's own that compares sources but gives no defaults for them.
    guessing = dataclasses.replace(
        config,
        model=dataclasses.replace(
            config.model,
            m={k: v for k, v in config.model.m.items() if k != "source"},
            u={k: v for k, v in config.model.u.items() if k != "source"},
        ),
    )
    assert _source_weights(Matcher(guessing).model) == (0.0, 0.0)


def test_an_attribute_named_source_is_fitted_as_an_attribute(config: MatchConfig) -> None:
    # A store whose records declare their own "source" (a lead's origin) does not compare
    # where records come from: the attribute is fitted by EM like any other, and is content.
    records = [
        InputRecord(
            r.record_id, "crm", {**r.canonical(), "source": ("web", "fair")[r.person_id % 2]}
        )
        for r in generate(1200, seed=7)
    ]
    matcher = Matcher(config, {**EXTRA_TYPES, "source": "text"})
    model, _ = matcher.fit(records)
    origin = next(p for p in model.parameters if p.attribute == "source")
    assert origin.kind == "text" and len(origin.m) > 2  # its own levels, not the two of sources
    frame = matcher.pipeline.build_frame(records[:2])
    plain = matcher.pipeline.build_frame(
        [
            dataclasses.replace(r, attributes={**r.attributes, "source": "other"})
            for r in records[:2]
        ]
    )
    assert (frame.digests() != plain.digests()).all()

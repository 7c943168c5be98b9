"""The review workflow in a terminal: huella review list|show|decide, merge, split, undo,
history."""

from __future__ import annotations

import re

from click.testing import Result
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from tests.helpers import push, record
from tests.review.conftest import MARTA, ZOE, Headers, identity_of, namesakes, partition


def run(cli: FlaskCliRunner, *args: str) -> Result:
    """Run a command, asserting success."""
    result = cli.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


def change_id(output: str) -> str:
    """The change id a command printed."""
    found = re.search(r"^change (\d+):", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def test_review_list_show_and_decide(
    client: FlaskClient, admin: Headers, cli: FlaskCliRunner, session: Session
) -> None:
    push(client, admin, "crm", record("1", **MARTA, email="marta@lindqvist.se"))
    namesakes(client, admin, MARTA, "2")
    listed = run(cli, "review", "list").output
    found = re.match(r"#(\d+)\tpossible_match\tpriority ", listed)
    assert found, listed
    item = found.group(1)
    assert "crm:1" in listed and "crm:2" in listed
    shown = run(cli, "review", "show", item).output
    assert re.search(r"^first_name\s+the same\s+\d+\.\d\d\s+marta\s+\|\s+marta$", shown, re.M)
    assert "review (stored edge)" in shown
    assert f"into {identity_of(session, 'crm:1')}: crm:1, crm:2" in shown
    assert f"huella review decide {item} merge|keep-apart|dismiss" in shown
    decided = run(cli, "review", "decide", item, "keep-apart", "--note", "different birthdays")
    assert f"item {item}: keep-apart" in decided.output
    assert re.search(r"change \d+: keep_apart by cli:\S+: \"different birthdays\"", decided.output)
    assert "constraints added: 1 (cannot-link)" in decided.output
    again = cli.invoke(args=["review", "decide", item, "merge"])
    assert again.exit_code == 1 and "already decided (keep_apart) by cli:" in again.output
    assert "no open review items" in run(cli, "review", "list").output
    assert f"#{item}" in run(cli, "review", "list", "--status", "decided").output
    missing = cli.invoke(args=["review", "show", "999999"])
    assert missing.exit_code == 1 and "no review item 999999" in missing.output


def test_merge_split_undo_and_history_in_a_terminal(
    client: FlaskClient, admin: Headers, cli: FlaskCliRunner, session: Session
) -> None:
    push(client, admin, "crm", record("1", **MARTA, email="marta@lindqvist.se"))
    push(client, admin, "shop", record("z", **ZOE))
    marta, zoe = identity_of(session, "crm:1"), identity_of(session, "shop:z")
    assert marta and zoe
    dry = run(cli, "merge", marta, zoe, "--dry-run").output
    assert f"into {marta}: crm:1, shop:z" in dry
    assert len(partition(session)) == 2
    merged = run(cli, "merge", marta, zoe, "--note", "same account").output
    assert f"after:  {marta} (crm:1, shop:z)" in merged
    merge = change_id(merged)
    assert f"undo with: huella undo {merge}" in merged
    preview = run(cli, "split", marta, "--part", "shop:z", "--dry-run").output
    assert "new identity: shop:z" in preview
    split = run(cli, "split", marta, "--part", "shop:z", "--note", "not her").output
    assert f"before: {marta} (crm:1, shop:z)" in split
    assert len(partition(session)) == 2
    refused = cli.invoke(args=["undo", merge])
    assert refused.exit_code == 1 and "undo the later change first" in refused.output
    run(cli, "undo", change_id(split))
    run(cli, "undo", merge, "--note", "wrong call")
    assert partition(session) == {marta: {"crm:1"}, zoe: {"shop:z"}}
    story = run(cli, "history", marta).output
    actions = re.findall(r"#\d+  (\w+) by ", story)
    assert actions == ["undo", "undo", "split", "merge", "create"], story
    assert re.search(rf"#{merge}  merge by cli:\S+: same account \(undone by \d+\)", story)
    bad = cli.invoke(args=["split", marta, "--part", "crm:404"])
    assert bad.exit_code == 1 and "crm:404 is not a live record of this identity" in bad.output
    unknown = cli.invoke(args=["merge", marta, "cus_nobody"])
    assert unknown.exit_code == 1 and "no identity 'cus_nobody'" in unknown.output

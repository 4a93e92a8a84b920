import json
from pathlib import Path

import pytest

from jobs.movielens import BadSplit, UnknownFormat, import_file

ROWS = [("1", "10", "4", "881250949"), ("1", "11", "3", "881250950"), ("2", "10", "5", "891717742")]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("u.data", lambda rows: "".join("\t".join(r) + "\n" for r in rows)),
        ("ratings.dat", lambda rows: "".join("::".join(r) + "\n" for r in rows)),
        ("ratings.csv", lambda rows: "userId,movieId,rating,timestamp\n" + "".join(",".join(r) + "\n" for r in rows)),
        ("ml-100k.inter", lambda rows: "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "".join("\t".join(r) + "\n" for r in rows)),
    ],
)  # fmt: skip
def test_every_format_gives_the_same_events(tmp_path: Path, name: str, render) -> None:
    counts = import_file(_write(tmp_path / name, render(ROWS)), tmp_path / "raw").days
    assert counts == {"1997-12-04": 2, "1998-04-04": 1}
    lines = (tmp_path / "raw" / "ds=1997-12-04" / "part-00000.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert first == {"event_id": "ml-1-10-881250949", "user_id": "1", "item_id": "10",
                     "event_type": "rating", "value": 4.0, "ts": 881250949}  # fmt: skip


def test_reimport_is_idempotent(tmp_path: Path) -> None:
    src = _write(tmp_path / "u.data", "".join("\t".join(r) + "\n" for r in ROWS))
    import_file(src, tmp_path / "raw")
    before = sorted(p.read_text() for p in (tmp_path / "raw").rglob("*.jsonl"))
    import_file(src, tmp_path / "raw")
    assert sorted(p.read_text() for p in (tmp_path / "raw").rglob("*.jsonl")) == before


def test_unknown_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormat, match="not a MovieLens ratings file"):
        import_file(_write(tmp_path / "movies.txt", "x"), tmp_path / "raw")


# user 1: 10 (day A), 11 (day A), 12 (day B); user 2: 10 (day C), 13 (day C)
SPLIT_ROWS = [*ROWS, ("1", "12", "2", "881350949"), ("2", "13", "1", "891717743")]
SPLIT = "user_id\tvalid_item_id\ttest_item_id\n1\t11\t12\n2\t10\t13\n"


def _ratings(tmp_path: Path) -> Path:
    return _write(tmp_path / "u.data", "".join("\t".join(r) + "\n" for r in SPLIT_ROWS))


def test_exclude_split_holds_out_valid_and_test_ratings(tmp_path: Path) -> None:
    raw = tmp_path / "home" / "raw"
    imported = import_file(_ratings(tmp_path), raw, _write(tmp_path / "s.tsv", SPLIT))
    # only user 1's item 10 stays; user 2's day has nothing left and gets no folder
    assert imported.days == {"1997-12-04": 1}
    lines = [
        json.loads(x) for x in (raw / "ds=1997-12-04" / "part-00000.jsonl").read_text().splitlines()
    ]
    assert [(r["user_id"], r["item_id"]) for r in lines] == [("1", "10")]
    assert imported.held_out == {"valid": 2, "test": 2}
    assert imported.held_out_file == tmp_path / "home" / "heldout" / "s.jsonl"
    held = [json.loads(x) for x in imported.held_out_file.read_text().splitlines()]
    assert held == [
        {"user_id": "1", "item_id": "12", "ts": 881350949, "rating": 2.0, "role": "test"},
        {"user_id": "1", "item_id": "11", "ts": 881250950, "rating": 3.0, "role": "valid"},
        {"user_id": "2", "item_id": "13", "ts": 891717743, "rating": 1.0, "role": "test"},
        {"user_id": "2", "item_id": "10", "ts": 891717742, "rating": 5.0, "role": "valid"},
    ]


def test_reimport_with_a_split_removes_days_left_empty(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    import_file(_ratings(tmp_path), raw)
    assert (raw / "ds=1998-04-04").is_dir()
    import_file(_ratings(tmp_path), raw, _write(tmp_path / "s.tsv", SPLIT), tmp_path / "h.jsonl")
    assert sorted(p.name for p in raw.iterdir()) == ["ds=1997-12-04"]
    assert len((tmp_path / "h.jsonl").read_text().splitlines()) == 4


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ("user\tvalid\ttest\n1\t11\t12\n", "the header must be user_id TAB valid_item_id"),
        ("user_id,valid_item_id,test_item_id\n1,11,12\n", "the header must be"),
        ("", "got 'an empty file'"),
        (
            "user_id\tvalid_item_id\ttest_item_id\n1\t11\n",
            "s.tsv:2: expected 3 non-empty tab-separated fields",
        ),
        ("user_id\tvalid_item_id\ttest_item_id\n1\t11\t12\t9\n", "s.tsv:2: expected 3"),
        ("user_id\tvalid_item_id\ttest_item_id\n1\t \t12\n", "s.tsv:2: expected 3"),
        (
            "user_id\tvalid_item_id\ttest_item_id\n1\t11\t12\n1\t10\t12\n",
            "s.tsv:3: user 1 is listed twice",
        ),
        (
            "user_id\tvalid_item_id\ttest_item_id\n1\t11\t11\n",
            "the validation and test items are the same",
        ),
        (
            "user_id\tvalid_item_id\ttest_item_id\n1\t11\t99\n",
            "1 (user, item) pairs of the split are not among the ratings, e.g. user 1 item 99",
        ),
    ],
)
def test_bad_split_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, split: str, message: str
) -> None:
    with pytest.raises(BadSplit, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_file(_ratings(tmp_path), tmp_path / "raw", _write(tmp_path / "s.tsv", split))
    assert not (tmp_path / "raw").exists()

import json
from pathlib import Path

import pytest

from jobs.movielens import UnknownFormat, import_file

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
    counts = import_file(_write(tmp_path / name, render(ROWS)), tmp_path / "raw")
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

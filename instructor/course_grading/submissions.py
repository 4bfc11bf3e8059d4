"""Who handed in what: each student's notebook in a learning platform's download, keyed by the platform's id.

A download is a folder or a .zip laid out as the platforms lay it out:

- Canvas: flat files ``<name>[_LATE|_late]_<user id>_<attachment id>_<original name>.ipynb``;
- Moodle: a folder per participant, ``<Full Name>_<participant id>_assignsubmission_file_/<file>.ipynb``
  (or, without folders, ``<Full Name>_<participant id>_assignsubmission_file_<file>.ipynb``);
- anything else: one folder per student (``<student>/<file>.ipynb``) or one ``<student>.ipynb``.

A student is the platform's user (Canvas user id, Moodle participant id; the
folder or file name otherwise), never a name: two users of the same name are
two students, and one user's several files are one student, of which the
latest is graded and the others listed. Two people are never merged: should
one platform id come with two different names, they stay two students,
flagged. Names are kept as handed in, for display; the student id
(grades.csv's ``student``, nbgrader's student id, the file names of the
results) is the name made ASCII with Unicode NFKD, with the platform's id
appended when another student's name gives the same.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

CANVAS = re.compile(r"^(?P<student>[^_]+?)(?:_(?P<late>LATE|late))?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<student>.+?)_(?P<id>\d+)_assignsubmission_file_?$")
MOODLE_FLAT = re.compile(r"^(?P<student>.+?)_(?P<id>\d+)_assignsubmission_file_(?P<file>.+)$")
PLATFORMS = ("canvas", "moodle", "folder", "file")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # a zip member's time when none was recorded

Key = tuple[str, str, str]  # (platform, user id, name slug): who a student is


def slug(text: str) -> str:
    """A student id nbgrader accepts: lowercase ASCII letters, digits and hyphens ("Ana María" -> "ana-maria")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "student"


def display_name(text: str) -> str:
    """A name as handed in, composed (NFC) so that the same name always looks and compares the same."""
    return unicodedata.normalize("NFC", text).strip()


@dataclass
class Submission:
    """One student's notebook to grade, and who they are on the platform."""

    student: str
    path: Path
    notes: list[str] = field(default_factory=list)
    name: str = ""
    platform: str = "file"
    user_id: str = ""
    submitted: datetime | None = None
    late_marker: str = ""


@dataclass(frozen=True)
class HandedIn:
    """One notebook file of a download, with what its place and name say about who handed it in."""

    path: Path
    platform: str
    user_id: str
    name: str
    submitted: datetime | None = None
    late_marker: str = ""
    attachment: int = -1  # Canvas numbers a user's files in the order they came in

    @property
    def key(self) -> Key:
        return (self.platform, self.user_id, slug(self.name))


def identify(relative: Path, submitted: datetime | None = None) -> HandedIn:
    """Who handed in the notebook at ``relative`` (a path inside the download), from its name and folders."""
    for folder in relative.parts[:-1]:
        moodle = MOODLE.match(folder)
        if moodle:
            return HandedIn(relative, "moodle", moodle["id"], display_name(moodle["student"]), submitted)
    canvas = CANVAS.match(relative.stem)
    if canvas:
        return HandedIn(relative, "canvas", canvas["user"], display_name(canvas["student"]), submitted,
                        canvas["late"] or "", int(canvas["sub"]))
    flat = MOODLE_FLAT.match(relative.name)
    if flat:
        return HandedIn(relative, "moodle", flat["id"], display_name(flat["student"]), submitted)
    if len(relative.parts) == 1:
        return HandedIn(relative, "file", relative.name, display_name(relative.stem), submitted)
    return HandedIn(relative, "folder", relative.parts[0], display_name(relative.parts[0]), submitted)


def who(key: Key) -> str:
    """The platform's id as :func:`student_id` expects it: digits, or what the folder or file was."""
    platform, user_id, _ = key
    return user_id if platform in ("canvas", "moodle") else f"{platform} {user_id}"


def student_id(name: str, who: str, people: Iterable[tuple[str, str]]) -> str:
    """The name slug, unless several people share it: then the platform id, or a digest of the file name.

    ``people`` holds every (name slug, who) of the class. Two people are never
    merged, whatever their names: a file that only looks like another
    student's (``carol_.ipynb`` beside ``carol.ipynb``) is another student.
    """
    if sum(1 for other, _ in people if other == name) == 1:
        return name
    if who.isdigit():
        return f"{name}-{who}"
    return f"{name}-{_digest(who)}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def assign_ids(names: dict[Key, str], known: dict[Key, tuple[str, str]]) -> dict[Key, str]:
    """A student id for every key of ``names`` ({key: display name}), unique and stable across runs.

    ``known`` holds the students already in the results folder, {key: (student
    id, display name)}: they keep their ids, and a newcomer whose name gives
    the same slug as anyone's gets the platform id appended.
    """
    everyone = {key: key[2] for key in [*names, *known]}
    people = [(name_slug, who(key)) for key, name_slug in everyone.items()]
    ids = {key: known[key][0] for key in names if key in known}
    taken = {student for student, _ in known.values()}
    for key in sorted(k for k in names if k not in known):
        candidate = student_id(everyone[key], who(key), people)
        if candidate in taken:
            candidate = f"{everyone[key]}-{_digest(who(key))}"
        number = 2
        while candidate in taken:
            candidate = f"{everyone[key]}-{_digest(who(key))}-{number}"
            number += 1
        ids[key] = candidate
        taken.add(candidate)
    return ids


def unpack(archive_path: Path, folder: Path) -> dict[Path, datetime | None]:
    """Extract a .zip into ``folder``; returns {extracted notebook path: the member's time, if recorded}.

    Names not flagged as UTF-8 are read as UTF-8 when they decode as such (the
    platforms write UTF-8 names; ``zipfile`` would otherwise show "Pérez" as
    cp437). A member whose path leads outside the archive stops everything.
    """
    times: dict[Path, datetime | None] = {}
    root = folder.resolve()
    with zipfile.ZipFile(archive_path) as archive:
        members = [(member, _member_name(member)) for member in archive.infolist()]
        for member, name in members:
            target = (folder / name).resolve()
            if not target.is_relative_to(root):
                raise ValueError(f"{archive_path} holds a path outside the archive: {member.filename}")
        for member, name in members:
            target = folder / name
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as sink:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)
            times[target] = None if member.date_time == ZIP_EPOCH else datetime(*member.date_time)
    return times


def _member_name(member: zipfile.ZipInfo) -> str:
    if member.flag_bits & 0x800:
        return member.filename
    try:
        return member.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return member.filename


def collect(source: Path, notebook: str, scratch: Path,
            known: dict[Key, tuple[str, str]] | None = None) -> list[Submission]:
    """Each student's notebook in a folder or a .zip named as the platforms name them, sorted by student id.

    ``known``: the students already in the results folder (see :func:`assign_ids`).
    """
    times: dict[Path, datetime | None] = {}
    if source.is_file() and source.suffix == ".zip":
        folder = scratch / "unzipped"
        times = unpack(source, folder)
        source = folder
    if not source.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder or a .zip file, got {source}")
    by_key: dict[Key, list[HandedIn]] = {}
    for path in sorted(source.rglob("*.ipynb")):
        relative = path.relative_to(source)
        if any(part.startswith((".", "__MACOSX")) for part in relative.parts) or not path.is_file():
            continue
        handed = identify(relative, times.get(path) if times else _modified(path))
        by_key.setdefault(handed.key, []).append(replace(handed, path=path))
    ids = assign_ids({key: _latest(files, notebook).name for key, files in by_key.items()}, known or {})
    ids_of_account: dict[tuple[str, str], list[str]] = {}  # (platform, user id) -> student ids
    for key in by_key:
        ids_of_account.setdefault(key[:2], []).append(ids[key])
    submissions = []
    for key, files in by_key.items():
        chosen = _latest(files, notebook)
        sub = Submission(ids[key], chosen.path, name=chosen.name, platform=chosen.platform, user_id=chosen.user_id,
                         submitted=chosen.submitted, late_marker=chosen.late_marker)
        if len(files) > 1:
            others = ", ".join(repr(f.path.name) for f in files if f is not chosen)
            sub.notes.append(f"{len(files)} notebooks found, graded {chosen.path.name!r}; not graded: {others}")
        namesakes = [other for other in ids_of_account[key[:2]] if other != ids[key]]
        if namesakes and key[0] in ("canvas", "moodle"):
            sub.notes.append(f"{key[0]} id {key[1]} also handed in under another name ({', '.join(namesakes)}): "
                             "graded as another student; check the download")
        submissions.append(sub)
    return sorted(submissions, key=lambda s: s.student)


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(os.stat(path).st_mtime).replace(microsecond=0)


def _latest(files: list[HandedIn], notebook: str) -> HandedIn:
    """The file to grade of one student's: the assignment's notebook if named so, and of those the latest."""
    named = [f for f in files if notebook.removesuffix(".ipynb") in f.path.name]
    return max(named or files, key=lambda f: (f.attachment, f.submitted or datetime.min, f.path.name))

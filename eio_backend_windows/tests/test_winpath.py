"""The Windows path rules of the sandbox, as pure functions: they run (and must refuse the same things) on every OS."""

from __future__ import annotations

import errno
import stat

import eio
import pytest
from eio_backend_windows._winpath import RESERVED_NAMES, check_component, is_absolute, is_name_surrogate, split_relative


def refused(path: str) -> str:
    """The message of the refusal of ``path`` (split, then each component checked)."""
    with pytest.raises(eio.fs.PermissionDenied) as info:
        for name in split_relative(path):
            check_component(name, path)
    assert info.value.errno == errno.EXDEV
    assert info.value.filename == path
    return str(info.value.strerror)


def names(path: str) -> list[str]:
    return [check_component(name, path) for name in split_relative(path)]


def test_plain_relative_paths_pass_with_either_separator() -> None:
    assert names("a/b\\c.txt") == ["a", "b", "c.txt"]
    assert names("a//b\\\\.\\..\\c") == ["a", "b", ".", "..", "c"]
    assert names("") == []
    assert names("con-fig/nullable/com10/lpt.txt/auxiliary") == ["con-fig", "nullable", "com10", "lpt.txt", "auxiliary"]


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("C:x", "a drive letter (C:)"),
        ("c:\\Windows", "a drive letter (c:)"),
        ("z:/etc", "a drive letter (z:)"),
        ("\\Windows", "an absolute path"),
        ("/etc/passwd", "an absolute path"),
        ("\\\\server\\share\\x", "a UNC path (\\\\server\\share)"),
        ("//server/share", "a UNC path (\\\\server\\share)"),
        ("\\/server/share", "a UNC path (\\\\server\\share)"),
        ("\\\\?\\C:\\x", "a device or verbatim prefix (\\\\?\\)"),
        ("//?/c:/x", "a device or verbatim prefix (//?/)"),
        ("\\\\.\\PhysicalDrive0", "a device or verbatim prefix (\\\\.\\)"),
        ("\\??\\C:\\x", "a device or verbatim prefix (\\??\\)"),
    ],
)
def test_paths_not_relative_to_the_directory_are_refused(path: str, rule: str) -> None:
    assert is_absolute(path)
    assert refused(path) == f"Path leads outside the sandboxed directory ({rule})"


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("file.txt:secret", "an alternate data stream or drive ('file.txt:secret')"),
        ("dir/file::$DATA", "an alternate data stream or drive ('file::$DATA')"),
        ("a\\b:c\\d", "an alternate data stream or drive ('b:c')"),
        ("x/C:y", "an alternate data stream or drive ('C:y')"),
    ],
)
def test_alternate_data_streams_are_refused(path: str, rule: str) -> None:
    assert not is_absolute(path)
    assert refused(path) == f"Path leads outside the sandboxed directory ({rule})"


@pytest.mark.parametrize(
    ("name", "device"),
    [
        ("CON", "CON"),
        ("nul", "NUL"),
        ("Nul.txt", "NUL"),
        ("aux.tar.gz", "AUX"),
        ("prn ", "PRN"),
        ("CON .txt", "CON"),
        ("com1", "COM1"),
        ("COM9.log", "COM9"),
        ("lpt1", "LPT1"),
        ("LpT0", "LPT0"),
        ("com\u00b9", "COM\u00b9"),
        ("conin$", "CONIN$"),
        ("CONOUT$.x", "CONOUT$"),
        ("nul...", "NUL"),
    ],
)
def test_reserved_device_names_are_refused_in_any_case_and_with_extensions(name: str, device: str) -> None:
    assert refused(f"sub/{name}/x") == (
        f"Path leads outside the sandboxed directory (a reserved device name ({device} in {name!r}))"
    )
    assert refused(name).endswith(f"({device} in {name!r}))")


def test_reserved_names_table() -> None:
    assert len(RESERVED_NAMES) == 6 + 2 * 13
    assert {"COM0", "LPT9", "LPT\u00b3"} <= RESERVED_NAMES


@pytest.mark.parametrize("name", ["...", ".. ", ". ", ". .", "..  .", "   ", "....", ".. .."])
def test_names_windows_shortens_to_dots_are_refused(name: str) -> None:
    assert refused(f"sub/{name}/x") == (
        "Path leads outside the sandboxed directory "
        f"(trailing dots or spaces ({name!r}: Windows reads a name of dots and spaces as '.' or '..'))"
    )


def test_other_trailing_dots_and_spaces_name_what_windows_opens() -> None:
    assert names("a./b . /c.. /.d") == ["a", "b", "c", ".d"]


@pytest.mark.parametrize("char", ["<", ">", '"', "|", "?", "*", "\x00", "\x1f"])
def test_reserved_characters_are_refused(char: str) -> None:
    name = f"a{char}b"
    assert refused(f"x/{name}") == (
        f"Path leads outside the sandboxed directory (a character Windows reserves in names ({char!r} in {name!r}))"
    )


def test_the_whole_path_is_named_when_a_split_target_is_refused() -> None:
    with pytest.raises(eio.fs.PermissionDenied) as info:
        split_relative("C:\\target", "box/link")
    assert info.value.filename == "box/link"


def test_name_surrogates() -> None:
    reparse = stat.FILE_ATTRIBUTE_REPARSE_POINT
    assert is_name_surrogate(stat.S_IFLNK | 0o777, 0, 0)
    assert is_name_surrogate(stat.S_IFDIR, reparse, 0xA0000003)  # a junction (mount point)
    assert is_name_surrogate(stat.S_IFREG, reparse, 0xA000000C)  # a symlink
    assert not is_name_surrogate(stat.S_IFREG, reparse, 0x9000001A)  # a cloud file: the file itself
    assert not is_name_surrogate(stat.S_IFDIR, 0, 0xA0000003)  # no reparse point attribute: no tag
    assert not is_name_surrogate(stat.S_IFREG, 0, 0)

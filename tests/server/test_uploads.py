"""The pure parts of receiving a file: safe names and messages that name no server folder."""

from __future__ import annotations

import os

from gtzcomposer.server.uploads import clean_message, format_bytes, safe_name


def test_safe_name_keeps_the_clients_name_but_not_its_path():
    assert safe_name("song.mp3", ".mp3") == "song.mp3"
    assert safe_name("../../etc/passwd", ".wav") == "passwd.wav"
    assert safe_name("C:\\Users\\me\\Chanson d'été.flac", ".flac") == "Chanson d_été.flac"
    assert safe_name("track.MP3", ".mp3") == "track.MP3"
    assert safe_name("clip.txt", ".wav") == "clip.txt.wav"
    assert safe_name("...", ".mid") == "upload.mid"
    assert safe_name(None, ".mid") == "upload.mid"
    assert len(safe_name("a" * 500 + ".wav", ".wav")) <= 104


def test_clean_message_cuts_the_temporary_folder_out(tmp_path):
    folder = tmp_path / "gtzcomposer-upload-x1"
    assert clean_message(f"Audio file '{folder}{os.sep}song.wav' cannot be read.", folder) == \
        "Audio file 'song.wav' cannot be read."
    assert clean_message(f"{folder}{os.sep}a.wav is too short to analyse", folder) == "a.wav is too short to analyse"
    assert clean_message(f"nothing in {folder}", folder) == "nothing in ."
    assert clean_message("'song.wav' is empty", folder) == "'song.wav' is empty"


def test_format_bytes():
    assert format_bytes(25 * 1024 * 1024) == "25 MB"
    assert format_bytes(1536 * 1024) == "1.5 MB"
    assert format_bytes(2048) == "2 KB"
    assert format_bytes(10) == "10 bytes"

from datacentric.cli import entry_point

entry_point()

"""The one exception type that the CLI turns into a single-line error and a non-zero exit."""


class DatacentricError(Exception):
    """Bad input or a refused operation. The message is shown to the user as is: one sentence."""

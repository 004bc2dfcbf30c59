"""Errors raised by the data layer.

Every problem with a user's data (a missing file, a corrupt archive, a folder with an empty
class) is a :class:`DataError` whose message names the file and says what was expected, so
the CLI and the app can show it as it is instead of a stack trace from deep inside numpy.
"""


class DataError(ValueError):
    """A domain could not be loaded; the message says which file and what was expected."""

"""Keras's interactive logging switch: progress and messages to stdout, or to Python's logging.

With it off (a batch job, a notebook saved as a log), ``hl.utils.Progbar`` and ``fit``'s
progress send their lines to the ``"highlevel"`` logger at INFO level instead of drawing
on stdout. It is this thread's setting, and ``clear_session`` turns it back on, as Keras's.
"""

from __future__ import annotations

import logging
import sys

from highlevel.utils import global_state

__all__ = ["enable_interactive_logging", "disable_interactive_logging", "is_interactive_logging_enabled",
           "print_msg"]

_KEY = "interactive_logging"
_LOGGER = logging.getLogger("highlevel")


def enable_interactive_logging() -> None:
    """Sends progress bars and messages to stdout (the default), as Keras's.

    >>> enable_interactive_logging(); is_interactive_logging_enabled()
    True
    """
    global_state.set_global_attribute(_KEY, True)


def disable_interactive_logging() -> None:
    """Sends progress and messages to the ``"highlevel"`` logger (INFO) instead of stdout, as Keras's.

    >>> disable_interactive_logging(); is_interactive_logging_enabled()
    False
    >>> enable_interactive_logging()
    """
    global_state.set_global_attribute(_KEY, False)


def is_interactive_logging_enabled() -> bool:
    """Whether progress and messages go to stdout (True unless ``disable_interactive_logging``).

    >>> is_interactive_logging_enabled()
    True
    """
    return bool(global_state.get_global_attribute(_KEY, True))


def print_msg(message: str, line_break: bool = True) -> None:
    """Writes ``message`` to stdout, or logs it when interactive logging is off, as Keras's ``io_utils.print_msg``.

    Args:
        message: the text.
        line_break: end it with a new line (stdout only; a log record is a line).

    >>> print_msg("hello")
    hello
    """
    if is_interactive_logging_enabled():
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        _LOGGER.info(message.strip("\n\r\b"))

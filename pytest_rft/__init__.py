"""pytest-rft: eval-gated model regression testing in pytest.

Public API: register Python models and graders, and the plain data they receive/return.
"""

__version__ = "0.2.0"

from .backends.python_backend import model
from .errors import GraderError, RftError
from .graders import grader
from .records import Completion, Grades, Request, SampleResult, Usage

__all__ = ["model", "grader", "Request", "Completion", "Usage", "Grades", "SampleResult",
           "RftError", "GraderError"]

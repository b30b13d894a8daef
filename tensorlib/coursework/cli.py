"""The command line: ``python -m tensorlib.coursework {student,instructor,grade} ...``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

__all__ = ["main"]

_VERSIONS = {
    "student": "solutions, solution-only cells and hidden tests removed, outputs cleared",
    "instructor": "the masters copied as they are: solutions, hidden tests and stored outputs kept",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tensorlib.coursework",
        description="Write student or instructor versions of the chapter notebooks, or grade submissions.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{student,instructor,grade}")
    for command, help_text in _VERSIONS.items():
        sub = commands.add_parser(command, help=help_text, description=f"Write {command} versions: {help_text}.")
        sub.add_argument("src_dir", help="folder of master notebooks, e.g. chapters/")
        sub.add_argument("dst_dir", help=f"folder to write to, e.g. {command}/ (created if missing)")
    grade = commands.add_parser(
        "grade", help="run every submission with the hidden checks; write a CSV gradebook and feedback",
        description="Grade submissions: each notebook runs on a scratch copy in a fresh kernel, with the "
                    "masters' check cells (hidden tests included) after the students' answers.")
    grade.add_argument("submissions", help="folder with one folder per student, e.g. submissions/ "
                                           "(alice/03_convolutional.ipynb, ...); only read")
    grade.add_argument("--handout", required=True, help="the folder of student versions that was handed out")
    grade.add_argument("--masters", default="chapters",
                       help="the master notebooks the handout was made from (default: chapters)")
    grade.add_argument("--out", default="grades.csv", help="the gradebook to write (default: grades.csv)")
    grade.add_argument("--feedback", default=None,
                       help="folder for one Markdown feedback file per student (default: feedback/ beside --out)")
    grade.add_argument("--timeout", type=int, default=120,
                       help="seconds a cell the student wrote or changed may run before it is interrupted "
                            "(default: 120)")
    grade.add_argument("--chapter-timeout", type=int, default=600,
                       help="the same for the chapter's own cells, as handed out, and the hidden checks "
                            "(default: 600, the book build's limit)")
    grade.add_argument("--jobs", type=int, default=1, help="students graded in parallel (default: 1)")
    grade.add_argument("--kernel", default="python3", help="Jupyter kernel to run the notebooks (default: python3)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command; return its exit status (0, or 1 after printing ``error: ...`` to stderr)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "grade":
            from .grade import grade_submissions

            grade_submissions(args.submissions, args.handout, masters=args.masters, out=args.out,
                              feedback=args.feedback, timeout=args.timeout,
                              chapter_timeout=args.chapter_timeout, jobs=args.jobs,
                              kernel_name=args.kernel, log=lambda line: print(line, flush=True))
            return 0
        from .student import write_versions

        written = write_versions(args.src_dir, args.dst_dir, instructor=args.command == "instructor")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    print(f"wrote {len(written)} {args.command} notebook{'s' if len(written) != 1 else ''} to {args.dst_dir}")
    return 0

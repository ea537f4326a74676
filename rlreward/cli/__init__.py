"""What recipes share: the command line (:mod:`.args`), launching (:mod:`.launch`), ``--reward`` specs
(:mod:`.reward_specs`), the generic runner (:mod:`.runner`) and reports (:mod:`.report`)."""

from rlreward.cli.args import ScriptArguments, parse_args
from rlreward.cli.runner import main, run_task

__all__ = ["ScriptArguments", "main", "parse_args", "run_task"]

"""porter lint: tree invariants kept as rule files (rules/*.toml), checked by C structure.

    from porter.lint import load_rules, lint_tree
    result = lint_tree(open_tree("linux"), load_rules())
"""

from porter.lint.engine import LintContext, LintResult, lint_tree, run_rules
from porter.lint.findings import Finding, Step
from porter.lint.rules import Rule, RuleError, load_rule_file, load_rules, parse_rules_text

__all__ = ["Finding", "LintContext", "LintResult", "Rule", "RuleError", "Step", "lint_tree", "load_rule_file",
           "load_rules", "parse_rules_text", "run_rules"]

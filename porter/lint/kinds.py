"""The rule kinds: one module each, with PARAMS (for validation), prepare(rule), words(rule) and check(rule, ctx)."""

from porter.lint import forbidden_in_region, query, single_site, static_to_file

KINDS = {
    "static-to-file": static_to_file,
    "forbidden-in-region": forbidden_in_region,
    "single-site": single_site,
    "query": query,
}

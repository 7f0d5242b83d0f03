"""Codes for the placement ladder: which rung placed a hunk (`Rung`) and why one was refused (`Reason`).

Control flow tests these codes, never the text shown to people: the human text is rendered from a code and its
parameters (`render`), in one table here, so a message can be reworded without changing what porter does.
`Rung` and `Reason` are string enums whose values are the stable names used in JSON output.
"""

from __future__ import annotations

from enum import StrEnum


class Rung(StrEnum):
    """The rungs of the ladder, by the name reports and JSON use."""

    EXACT = "exact"  # the pre-image at the stated line
    OFFSET = "offset"  # the pre-image, unique, elsewhere in the file (patch(1)'s offset)
    FUZZ = "fuzz"  # reduced context (edges dropped, a deleted context line, removed lines as anchor)
    WHITESPACE = "whitespace"  # the pre-image ignoring whitespace (mangled mail)
    ALREADY_APPLIED = "already-applied"  # the post-image is where the pre-image would be
    THREE_WAY = "three-way"  # carried across the diff from the patch's pre-image blob to the target
    TREE_SEARCH = "tree-search"  # the pre-image found once elsewhere in the tree
    NESTING = "nesting"  # an insertion split from its context by #if lines: the side with the pre-image's nesting
    FUNCTION_ANCHOR = "function-anchor"  # aligned inside the enclosing function (same file or moved)
    RENAMED = "renamed"  # aligned inside the function the old one was renamed to
    NEW_DEFINITION = "new-definition"  # a whole new definition, placed by its neighbours
    NEW_DECLARATION = "new-declaration"  # new prototypes, below the declaration the patch put them under


class Reason(StrEnum):
    """Why a hunk was refused. Parameters each message needs are listed in MESSAGES."""

    NO_CONTEXT = "no-context"
    NO_TRAILING_CONTEXT = "no-trailing-context"
    NO_LEADING_CONTEXT = "no-leading-context"
    CONTEXT_NOT_FOUND = "context-not-found"
    AMBIGUOUS = "ambiguous"
    AMBIGUOUS_WHITESPACE = "ambiguous-whitespace"
    AMBIGUOUS_FUZZ = "ambiguous-fuzz"
    AMBIGUOUS_DELETED_CONTEXT = "ambiguous-deleted-context"
    AMBIGUOUS_IN_FUNCTION = "ambiguous-in-function"
    AMBIGUOUS_FUNCTION = "ambiguous-function"
    NOT_FOUND_IN_FUNCTION = "not-found-in-function"
    OUTSIDE_FUNCTION = "outside-function"
    FUNCTION_NOT_FOUND = "function-not-found"
    NO_SIMILAR_FUNCTION = "no-similar-function"
    FILE_MISSING = "file-missing"
    NEW_FILE_EXISTS = "new-file-exists"
    DELETE_LEFTOVER = "delete-leftover"
    NEIGHBOURS_MISSING = "neighbours-missing"
    NEIGHBOURS_UNDECIDED = "neighbours-undecided"
    NO_VALID_SLOT = "no-valid-slot"
    FORCED_SLOT_INVALID = "forced-slot-invalid"
    DEFINED_DIFFERENTLY = "defined-differently"
    DECLARATION_TWINS = "declaration-twins"
    PARTLY_APPLIED = "partly-applied"
    THREE_WAY_CONFLICT = "three-way-conflict"
    THREE_WAY_OFF_CONTEXT = "three-way-off-context"
    THREE_WAY_OTHER_DEFINITION = "three-way-other-definition"
    THREE_WAY_SPLIT = "three-way-split"
    HISTORY_DISAGREES = "history-disagrees"
    EDITED_TWIN = "edited-twin"
    TREE_SEARCH_AMBIGUOUS = "tree-search-ambiguous"
    TREE_SEARCH_NOT_FOUND = "tree-search-not-found"
    TREE_SEARCH_TOO_COMMON = "tree-search-too-common"
    TREE_SEARCH_STILL_HERE = "tree-search-still-here"
    POST_IMAGE_UNCERTAIN = "post-image-uncertain"
    NESTING_UNDECIDED = "nesting-undecided"
    NESTING_CHANGED = "nesting-changed"
    OVERLAPS_EARLIER_HUNK = "overlaps-earlier-hunk"
    HUNKS_OVERLAP = "hunks-overlap"
    NESTING_UNKNOWN = "nesting-unknown"
    RENAMED_OLD_NAME_USED = "renamed-old-name-used"
    RENAME_CLAIMED = "rename-claimed"
    SPLIT_AFTER_FUNCTION = "split-after-function"
    NOT_SAME_FUNCTION = "not-same-function"
    EXPORT_UNDEFINED = "export-undefined"
    UNKNOWN_NAMES_STRICT = "unknown-names-strict"
    OTHER = "other"  # free text from code that has no code of its own yet ({text})

    @property
    def ambiguous(self) -> bool:
        """The context matched at several places: says more than any later "not found"."""
        return self in AMBIGUITIES

    @property
    def new_definition(self) -> bool:
        """Refused while placing a whole new definition (the planner may still decide across trees)."""
        return self in NEW_DEFINITION_REASONS


AMBIGUITIES = frozenset({Reason.AMBIGUOUS, Reason.AMBIGUOUS_WHITESPACE, Reason.AMBIGUOUS_FUZZ,
                         Reason.AMBIGUOUS_DELETED_CONTEXT, Reason.AMBIGUOUS_IN_FUNCTION, Reason.AMBIGUOUS_FUNCTION,
                         Reason.TREE_SEARCH_AMBIGUOUS, Reason.POST_IMAGE_UNCERTAIN, Reason.DECLARATION_TWINS,
                         Reason.HISTORY_DISAGREES, Reason.EDITED_TWIN})
NEW_DEFINITION_REASONS = frozenset({Reason.NEIGHBOURS_MISSING, Reason.NEIGHBOURS_UNDECIDED, Reason.NO_VALID_SLOT,
                                    Reason.FORCED_SLOT_INVALID, Reason.DEFINED_DIFFERENTLY})

MESSAGES: dict[Reason, str] = {
    Reason.NO_CONTEXT: "hunk has no context lines to place it by",
    Reason.NO_TRAILING_CONTEXT: "hunk has no trailing context: it applies only at the end of the file, "
                                "and its leading context is not there",
    Reason.NO_LEADING_CONTEXT: "hunk has no leading context: it applies only at the start of the file, "
                               "and its trailing context is not there",
    Reason.CONTEXT_NOT_FOUND: "context not found",
    Reason.AMBIGUOUS: "context matches at {count} places",
    Reason.AMBIGUOUS_WHITESPACE: "whitespace-insensitive context matches at {count} places",
    Reason.AMBIGUOUS_FUZZ: "with fuzz {fuzz} the context matches at {count} places",
    Reason.AMBIGUOUS_DELETED_CONTEXT: "with a deleted context line the context matches at {count} places",
    Reason.AMBIGUOUS_IN_FUNCTION: "inside the function the reduced context matches at {count} places",
    Reason.AMBIGUOUS_FUNCTION: "{name}() has {count} definitions where the hunk fits",
    Reason.NOT_FOUND_IN_FUNCTION: "context not found inside the function ({name}() at {where})",
    Reason.OUTSIDE_FUNCTION: "context matched at {where}, outside the function the patch changes",
    Reason.FUNCTION_NOT_FOUND: "{name}() not found in {tree}",
    Reason.NO_SIMILAR_FUNCTION: "{name}() not found in {tree}; no function similar enough (threshold {threshold})",
    Reason.FILE_MISSING: "{path} does not exist in {tree}",
    Reason.NEW_FILE_EXISTS: "new file already exists in the target with other content",
    Reason.DELETE_LEFTOVER: "file deletion: the target file has content the patch does not remove",
    Reason.NEIGHBOURS_MISSING: "new definition {names}: neither neighbour ({prev} above, {next} below) exists "
                               "in the target",
    Reason.NEIGHBOURS_UNDECIDED: "new definition {names}: its context anchors nowhere and the text around both "
                                 "neighbours changed ({slots}); placing it would be a guess",
    Reason.NO_VALID_SLOT: "new definition {names}: no valid slot ({problems})",
    Reason.FORCED_SLOT_INVALID: "new definition {names}: cannot place {slot}: {why}",
    Reason.DEFINED_DIFFERENTLY: "new definition {names}: already defined in {where} with a different body",
    Reason.DECLARATION_TWINS: "new declaration {names}: {neighbour}(), the declaration above it in the patch, is "
                              "declared {count} times in the target (#if twins): below which one is a guess",
    Reason.PARTLY_APPLIED: "the hunk's change is partly there already ({where}): the rest would be applied twice",
    Reason.THREE_WAY_CONFLICT: "3-way merge from the pre-image blob {blob} conflicts",
    Reason.THREE_WAY_OFF_CONTEXT: "3-way merge from the pre-image blob {blob} lands at {where}, away from the "
                                  "hunk's context",
    Reason.THREE_WAY_OTHER_DEFINITION: "3-way merge from the pre-image blob {blob} lands in {got}, not in {want}",
    Reason.THREE_WAY_SPLIT: "3-way merge from the pre-image blob {blob}: the target inserted code between the "
                            "hunk's context and its change ({where}); above or below it is a guess",
    Reason.EDITED_TWIN: "the context matches exactly at {where}, and at {twin} with one line edited in place: "
                        "a copy beside the original the target edited? which one the patch means is a guess",
    Reason.HISTORY_DISAGREES: "the 3-way merge from the pre-image blob puts the change at {history}, its text "
                              "matches at {where}: a copy beside the edited original, or moved code? a guess",
    Reason.TREE_SEARCH_AMBIGUOUS: "the hunk's pre-image occurs at {count} places in the tree",
    Reason.TREE_SEARCH_NOT_FOUND: "context not found in {origin}, and the hunk's pre-image occurs nowhere else in "
                                  "{tree}",
    Reason.TREE_SEARCH_TOO_COMMON: "the hunk's pre-image lines occur in {count} files of {tree}: too common to "
                                   "say where the code went",
    Reason.TREE_SEARCH_STILL_HERE: "context not found, but the code is still in its file ({where}: {line}); the "
                                   "same pre-image elsewhere is a copy, not where it moved",
    Reason.POST_IMAGE_UNCERTAIN: "the post-image is at {where}, but the hunk's context also frames {other}: "
                                 "not clearly applied",
    Reason.NESTING_UNDECIDED: "the target put {gap} preprocessor line(s) between the hunk's context at {where}; "
                              "neither side alone has the pre-image's #if nesting ({want}): above or below is a "
                              "guess",
    Reason.NESTING_CHANGED: "placed at {where}, the change would be under #if nesting {have}; in the pre-image "
                            "it is under {want}: which configurations build it would change",
    Reason.NESTING_UNKNOWN: "placed at {where}, under conditional nesting {have}, where a conditional block opens "
                            "or closes beside it ({other}); without the pre-image blob, inside or outside it is a "
                            "guess",
    Reason.OVERLAPS_EARLIER_HUNK: "context matched at {where}, in lines {lines} an earlier hunk of this patch wrote",
    Reason.HUNKS_OVERLAP: "the patch's hunks overlap: old lines {lines} are also an earlier hunk's, which rewrites "
                          "them (git apply refuses it too)",
    Reason.RENAMED_OLD_NAME_USED: "{old}() is {new}() in the target ({where}), and the hunk's added lines still "
                                  "say {old}: the change itself needs adapting",
    Reason.RENAME_CLAIMED: "{old}() is gone; {cand}() resembles it, but as much {other}() of the pre-image: it is "
                           "{other}() (renamed or not), not {old}() renamed",
    Reason.SPLIT_AFTER_FUNCTION: "the target put code between the end of {name}() and the hunk's trailing context "
                                 "(now at {where}): above or below that code is a guess",
    Reason.NOT_SAME_FUNCTION: "{name}() at {where} is not shown to be the function the hunk follows (no pre-image "
                              "blob, or its body differs): lines after its end would be a guess",
    Reason.EXPORT_UNDEFINED: "the hunk exports {names}, which {file} does not define: it would not build",
    Reason.UNKNOWN_NAMES_STRICT: "--strict: added lines use {names}, which {tree} does not define",
    Reason.OTHER: "{text}",
}


def render(reason: Reason, params: dict) -> str:
    """The human text for a reason; a missing parameter shows as '?' rather than failing a report."""
    return MESSAGES[reason].format_map(_Lenient(params))


class _Lenient(dict):
    def __missing__(self, key):
        return "?"

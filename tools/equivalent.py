"""Mutants accepted as equivalent: each changes nothing that a user could see.

Keys are mutmut's mutant names (`module.x_function__mutmut_N`) and, for the module-level
mutants of tools/mutants.py, `module.py: description`. mutmut numbers the mutants of a function
in order, so an entry must be checked again whenever its function changes: `mutmut show NAME`
prints the mutant. Reasons are one line, by category:

- "default": a default value that the code never reaches or that leads to the same result;
- "log text": the wording of a log message (the logger, the level and the facts it names are
  tested);
- "fast path": a shortcut whose slow path gives the same answer;
- "redundant guard": a check that another check already makes;
- "codec name": Python's codec names are case-insensitive ("latin-1" and "LATIN-1" are one).
"""

from __future__ import annotations

from metatrace._core import formats

_UNRESERVED = (
    "fast path: encode_value's shortcut for unreserved text; quote(value, safe='') leaves "
    "exactly these characters (and the empty string) as they are"
)
_PLAIN = (
    "fast path: a stricter plain-header shortcut sends more headers to the general parser, "
    "which normalises a plain header to itself"
)

_CODEC = "codec name: Python looks codecs up case-insensitively"
_NO_CODE = (
    "default: a response without a status code (a malformed WSGI status, an ASGI start "
    "without one) is a page either way, as 200 or as 201"
)

_KNOWN = (
    "fast path: KNOWN_FIELDS lists fields written as they are without a check; "
    "encode_field writes each of them as it is too"
)

_FAST_START = (
    "fast path: the started trace's precomputed members are used less often or never; the "
    "general path gives the same output (tests/core/test_context.py compares the two)"
)
_TEMPLATE = "default: a placeholder of the DSC template that _render always fills"
_HEAD_CACHE = "cache: the per-configuration head is made again; _render reads the rate from config"
_FAST_RAND = (
    "fast path: the shape check of a six-decimal sample_rand; the full check gives the same "
    "answer for every value this mutant lets through or sends to it"
)
_FAST_FIT = "fast path: at exactly the limit, the member-by-member path keeps every member too"
_ZIP = "redundant guard: the fields and the members are built to the same length"
_ACLOSE = (
    "default: Django gives the middleware its own wrapper of an async stream, whose aclose() "
    "does not reach the view's generator, so closing it (or not, or outside the trace) changes "
    "nothing a test can see (noted as a gap in the closing note of issue 15)"
)

_FALSY = "default: None for False in a flag that is only tested for truth"
_FROM_ZERO = "default: None as the start of a search is 0"
_ANY_CASE = (
    "header name case: a removed header is matched in any case by every caller "
    "(changed_headers, Django's response headers)"
)
_DJANGO_STORE = (
    "fast path: Django's own header store; the fallback through items() gives the same map "
    "(tests/pages/test_responses.py::test_headers_kept_outside_djangos_own_store_are_read_too)"
)
_RENDER_CACHE = "cache: the tags are rendered again, to the same values"
_RESOLVE_CACHE = (
    "cache: the trace is resolved again from the same headers and the same random bits, "
    "to the same values"
)
_BIG_ENDIAN = (
    "default: int.to_bytes() is big-endian by default since Python 3.11, the oldest supported"
)
_NEVER_PARSES = "default: the fallback of an all-empty header fails to parse either way"
_EXACT_LIMIT = (
    "boundary without effect: a header of exactly the member limit holds no member over it"
)
_WORK_BOUND = (
    "bound on work: splitting the whole header and keeping the first 180 members gives the "
    "same members as splitting only 180 times"
)
_FAST_DECODE = (
    "fast path: a value without '%' or '+' is its own canonical and decoded form; the "
    "general path returns it unchanged"
)
_STRICT = (
    "error handler: decode_value only gets values whose escapes parse_baggage checked as "
    "UTF-8 or encode_value made, so the handler never runs"
)
_EITHER_FIND = (
    "fast path: find() and rfind() find a tag, or fail to, alike; only the position differs"
)

_NEVER_AT_ZERO = (
    "boundary without effect: the position tested is -1 or the end of a tag found after the "
    "start of the body, so never 0"
)
_NEGATIVE = "default: -2 for -1 as 'not found', which every caller tests as `< 0`"
_CLOSED_AT = (
    "boundary without effect: a '</script' at 0 and none at all both start the search for "
    "'<script' at 0"
)

_NO_PIN = (
    "redundant guard: the pin is None only while metatrace's own context is in charge, when "
    "current() does not read the pin, and nothing outside pinned one"
)

_ONE_PASS = (
    "fast path: the one-pass reading of a common baggage header is used less often (at "
    "exactly a limit, or never); the member-by-member path gives the same result "
    "(tests/test_properties.py compares the two)"
)

_PLAIN_FIELD = (
    "fast path: encode_field's shortcut for fields that quote() leaves as they are (letters, "
    "digits, '_', '.', '~', and the empty field); the slow path writes them the same"
)

_AS_TEXT = "fast path: _text returns a str as it is and None for None, as the shortcut does"
_COMMON_PAGE = (
    "fast path: the common page's short path (is_plain, carry_head) is taken less often; "
    "read_page and Page give such a page the same body and headers"
)
_READY = (
    "redundant guard: TraceMiddleware requires the app, whose ready() configures the "
    "settings before any request, so `configured` is set when it runs"
)
_NAME_CASE = (
    "header name case: the spelling Django sends a header name in; HTTP header names are "
    "case-insensitive (RFC 9110, 5.1), and HTTP/2 sends them in lower case"
)
_KEPT_MEMBERS = (
    "fast path: the sentry members as they came are handed to fit_sentry only when they are "
    "what it would join; joined again, they come out the same"
)

EQUIVALENT: dict[str, str] = {
    # formats.py, module level: encode_field's and the plain header's shortcuts
    **{
        f"metatrace/_core/formats.py: {description}": _PLAIN_FIELD
        for description in (
            "_PLAIN_FIELD_RE: drop A-Z from class at 1",
            "_PLAIN_FIELD_RE: A-Z -> low end + 1 at 1",
            "_PLAIN_FIELD_RE: A-Z -> high end - 1 at 1",
            "_PLAIN_FIELD_RE: drop a-z from class at 4",
            "_PLAIN_FIELD_RE: a-z -> low end + 1 at 4",
            "_PLAIN_FIELD_RE: a-z -> high end - 1 at 4",
            "_PLAIN_FIELD_RE: drop 0-9 from class at 7",
            "_PLAIN_FIELD_RE: 0-9 -> low end + 1 at 7",
            "_PLAIN_FIELD_RE: 0-9 -> high end - 1 at 7",
            "_PLAIN_FIELD_RE: drop _ from class at 10",
            "_PLAIN_FIELD_RE: drop . from class at 11",
            "_PLAIN_FIELD_RE: drop ~ from class at 12",
            "_PLAIN_FIELD_RE: + -> * at 14",
        )
    },
    "metatrace/_core/formats.py: _PLAIN_MEMBER: drop ? at 44": _PLAIN,
    "metatrace/_core/formats.py: _PLAIN_MEMBER: * -> + at 46": _PLAIN,
    # context.py
    "metatrace._core.context.xǁTraceContextǁ_outgoing__mutmut_3": (
        "cache: the fitted header is computed again, to the same value"
    ),
    **{f"metatrace._core.head.x_make_head__mutmut_{n}": _FAST_START for n in (14, 19, 20, 23, 24)},
    **{f"metatrace._core.head.x_make_head__mutmut_{n}": _FAST_START for n in (25, 26, 44, 50)},
    **{
        f"metatrace._core.head.x_make_head__mutmut_{n}": _TEMPLATE for n in (30, 33, 34, 37, 38, 39)
    },
    "metatrace._core.head.x_make_head__mutmut_40": _HEAD_CACHE,
    **{f"metatrace._core.context.x__valid_rand__mutmut_{n}": _FAST_RAND for n in (6, 7, 8, 10)},
    **{f"metatrace._core.context.xǁTraceContextǁmeta__mutmut_{n}": _RENDER_CACHE for n in (3, 6)},
    **{f"metatrace._core.context.xǁTraceContextǁpage__mutmut_{n}": _RENDER_CACHE for n in (3, 6)},
    "metatrace._core.context.xǁTraceContextǁ_render__mutmut_1": (
        "cache: the DSC's head is looked up through _head(config), which returns the same one"
    ),
    "metatrace._core.context.xǁTraceContextǁ_render__mutmut_19": _BIG_ENDIAN,
    "metatrace._core.context.xǁTraceContextǁ__init____mutmut_3": _FAST_START,
    "metatrace._core.context.xǁTraceContextǁ_parse__mutmut_6": (
        "typing: cast() returns its argument unchanged"
    ),
    **{
        f"metatrace._core.context.xǁTraceContextǁ_complete__mutmut_{n}": _KEPT_MEMBERS
        for n in (47, 49, 50)
    },
    **{
        f"metatrace._core.context.xǁTraceContextǁ_complete__mutmut_{n}": (
            "fast path: _dsc_of returns the very DSC whose trace id matches, as the inline "
            "check does"
        )
        for n in (3, 4, 5)
    },
    "metatrace._core.context.xǁSpanContextǁ_parse__mutmut_8": (
        "default: the header of an empty baggage is sent only with a DSC, which an empty "
        "baggage never holds"
    ),
    "metatrace._core.context.xǁTraceContextǁ_resolve__mutmut_1": _RESOLVE_CACHE,
    "metatrace._core.context.x__hex_ids__mutmut_5": _BIG_ENDIAN,
    "metatrace._core.head.x_make_head__mutmut_54": _FAST_START,
    # responses.py
    "metatrace._pages.responses.x__head_end__mutmut_8": (
        "default: the head's end follows the tag of another trace that led here, so it is "
        "never at 0"
    ),
    # responses.py, as the rerun of tools/mutation-results/redesign numbers them
    "metatrace._pages.responses.x__fixed_head__mutmut_74": _FALSY,
    "metatrace._pages.responses.x__fixed_head__mutmut_96": _FROM_ZERO,
    "metatrace._pages.responses.x__script_end__mutmut_3": _FROM_ZERO,
    "metatrace._pages.responses.x__fixed_head__mutmut_101": _EITHER_FIND,
    "metatrace._pages.responses.x__script_end__mutmut_18": _EITHER_FIND,
    **{
        f"metatrace._pages.responses.x_{function}__mutmut_{n}": _CODEC
        for function, n in (
            ("_fixed_head", 116),
            ("_found", 4),
            ("_found", 18),
            ("_replaced", 43),
            ("_fixed_elastic", 22),
            ("_fixed_elastic", 52),
            ("_fixed_elastic", 65),
        )
    },
    **{
        f"metatrace._pages.responses.x_{function}__mutmut_{n}": _NEVER_AT_ZERO
        for function, n in (
            ("_after", 11),
            ("_after", 12),
            ("_fixed_head", 40),
            ("_fixed_head", 41),
            ("_fixed_head", 110),
            ("_fixed_head", 111),
            ("_injection_point", 38),
            ("_injection_point", 39),
            ("_head_end", 30),
            ("_head_end", 31),
        )
    },
    **{
        f"metatrace._pages.responses.x_{function}__mutmut_{n}": _NEGATIVE
        for function, n in (("_charset_end", 36), ("_injection_point", 28), ("_script_end", 29))
    },
    **{f"metatrace._pages.responses.x__script_end__mutmut_{n}": _CLOSED_AT for n in (11, 23)},
    "metatrace._pages.responses.x__script_end__mutmut_24": (
        "boundary without effect: a '</script' at 1 leaves no room for a '<script' at 0, so "
        "the search for one finds the same from 0 or from 1"
    ),
    "metatrace._pages.responses.x__fixed_head__mutmut_6": (
        "redundant guard: _is_fragment says no to a page that starts with '<!' too "
        "(_FIRST_TAG_RE needs a letter after '<')"
    ),
    "metatrace._pages.responses.x__fixed_head__mutmut_68": (
        "default: sentry-trace and traceparent swap their bits; `seen` is only tested for the "
        "same bit twice and for being non-zero"
    ),
    "metatrace._pages.responses.x_is_plain__mutmut_3": _COMMON_PAGE,
    **{f"metatrace._pages.responses.x_resized__mutmut_{n}": _ANY_CASE for n in (13, 14)},
    # formats.py
    **{f"metatrace._core.formats.x_fit_baggage__mutmut_{n}": _FAST_FIT for n in (23, 24)},
    **{f"metatrace._core.formats.x_fit_sentry__mutmut_{n}": _FAST_FIT for n in (8, 9)},
    "metatrace._core.formats.x__simple_baggage__mutmut_32": (
        "fast path: a tail that does not match only sends the sentry members to fit_sentry, "
        "which joins them to the same value"
    ),
    "metatrace._core.formats.x_parse_sentry_trace__mutmut_12": _NEVER_PARSES,
    "metatrace._core.formats.x__parsed_members__mutmut_9": _EXACT_LIMIT,
    "metatrace._core.formats.x__parsed_members__mutmut_15": _WORK_BOUND,
    "metatrace._core.formats.x__well_formed__mutmut_5": _WORK_BOUND,
    **{f"metatrace._core.formats.x__parsed_members__mutmut_{n}": _FAST_DECODE for n in (40, 48)},
    "metatrace._core.formats.x__is_sentry_member__mutmut_15": (
        "default: a key that does not decode is no sentry key, as '' and 'XXXX' are not"
    ),
    "metatrace._core.formats.x_is_id__mutmut_8": (
        "default: an id that matched the lowercase hex pattern holds no 'X' to strip"
    ),
    **{f"metatrace._core.formats.x_parse_baggage__mutmut_{n}": _ONE_PASS for n in (6, 8)},
    **{f"metatrace._core.formats.x__simple_baggage__mutmut_{n}": _ONE_PASS for n in (1, 8)},
    "metatrace._core.formats.x_decode_value__mutmut_2": _FAST_DECODE,
    **{f"metatrace._core.formats.x_decode_value__mutmut_{n}": _STRICT for n in (4, 6, 7, 8)},
    "metatrace._core.formats.x_encode_value__mutmut_1": _UNRESERVED,
    "metatrace._core.formats.x_encode_value__mutmut_8": (
        "default: 'X' is a character quote() never escapes, so safe='XXXX' is safe=''"
    ),
    "metatrace._core.formats.x__sentry_members__mutmut_2": _KNOWN,
    **{f"metatrace._core.formats.x_fit_baggage__mutmut_{n}": _ZIP for n in (36, 39, 40)},
    # middleware.py
    **{f"metatrace.middleware.x__carry_trace__mutmut_{n}": _DJANGO_STORE for n in (11, 12, 40, 60)},
    **{f"metatrace.middleware.xǁ_Streamǁaiterate__mutmut_{n}": _ACLOSE for n in (8, 9, 13)},
    **{f"metatrace.middleware.xǁ_Streamǁaiterate__mutmut_{n}": _ACLOSE for n in (14, 15, 16)},
    **{f"metatrace.middleware.xǁ_Streamǁaiterate__mutmut_{n}": _ACLOSE for n in (18, 19)},
    "metatrace.middleware.xǁTraceMiddlewareǁ__call____mutmut_16": _READY,
    "metatrace.middleware.xǁTraceMiddlewareǁ__acall____mutmut_15": _READY,
    **{
        f"metatrace.middleware.xǁTraceMiddlewareǁ{method}__mutmut_{n}": (
            "fast path: pin_request_span() makes the same check of sys.modules and returns None"
        )
        for method, n in (("__call__", 14), ("__acall__", 13))
    },
    **{
        f"metatrace.middleware.x__store__mutmut_{n}": _DJANGO_STORE for n in (1, 2, 7, 8, 9, 11, 12)
    },
    "metatrace.middleware.x__store__mutmut_6": (
        "default: Django's response headers always have a _store (Django 4.2 and later)"
    ),
    "metatrace.middleware.x__store__mutmut_10": (
        "redundant guard: Django's header store is always a dict (Django 4.2 and later)"
    ),
    "metatrace.middleware.xǁTraceMiddlewareǁ_carry__mutmut_16": _DJANGO_STORE,
    "metatrace.middleware.x__stream_in_context__mutmut_16": _FALSY,
    "metatrace.middleware.xǁTraceMiddlewareǁ__init____mutmut_19": (
        "default: Django's global settings always define MIDDLEWARE, so getattr's default is "
        "never read"
    ),
    **{
        name: _NO_PIN
        for name in (
            "metatrace.middleware.xǁ_Streamǁenter__mutmut_4",
            "metatrace.wsgi.xǁ_Bodyǁ_in_context__mutmut_4",
        )
    },
    "metatrace.middleware.x__carry_any__mutmut_21": _DJANGO_STORE,
    "metatrace.middleware.x__carry_trace__mutmut_33": _COMMON_PAGE,
    "metatrace.middleware.x__carry_trace__mutmut_59": (
        "redundant argument: with Django's header store, _apply writes the store and never "
        "reads the response"
    ),
    # formats.py, module level
    **{
        f'metatrace/_core/formats.py: KNOWN_FIELDS: drop "{field}"': _KNOWN
        for field in formats.KNOWN_FIELDS
    },
    # carriers.py
    "metatrace._core.carriers.x_read_header_pairs__mutmut_8": _CODEC,
    "metatrace._core.carriers.x__text__mutmut_3": _CODEC,
    "metatrace._core.carriers.x__text__mutmut_11": (
        "default: an absent ASGI header as '' instead of None; every reader takes an empty "
        "header for an absent one (a fresh trace, no baggage, no tracestate)"
    ),
    # responses.py
    "metatrace._core.carriers.x_read_carrier__mutmut_2": (
        "fast path: the exact-dict check in front of isinstance(carrier, Mapping)"
    ),
    **{f"metatrace._core.carriers.x_read_carrier__mutmut_{n}": _AS_TEXT for n in (29, 31)},
    "metatrace/_core/carriers.py: NOTHING: drop None": (
        "fast path: read_environ's shortcut for a request with no trace headers is never "
        "taken; _texts gives the same four Nones"
    ),
    "metatrace._core.carriers.x_read_environ__mutmut_7": (
        "fast path: _texts of four Nones is the same four Nones"
    ),
    # context.py
    **{
        f"metatrace._core.context.xǁTraceContextǁheaders__mutmut_{n}": (
            "cache: the headers are computed again each call; the same headers come out"
        )
        for n in (2, 5)
    },
    "metatrace._core.context.x__rate__mutmut_10": (
        "default: a missing sample_rate as 'XXXX' instead of '' fails float() either way"
    ),
    **{
        f"metatrace._core.context.x__rate__mutmut_{n}": (
            "boundary without effect: a rate of exactly 0 or 1 cuts [0, 1) at one of its "
            "ends, so it constrains sample_rand no more than no rate at all"
        )
        for n in (14, 15)
    },
    **{
        f"metatrace._core.context.x__sampled__mutmut_{n}": (
            "default: a missing sampled as None or 'XXXX' instead of '' is neither 'true' "
            "nor 'false' either way"
        )
        for n in (10, 12, 15)
    },
    # formats.py
    "metatrace._core.formats.x_parse_tracestate__mutmut_12": (
        "redundant guard: a member with a second '=' fails the member grammar whatever its key"
    ),
    **{
        f"metatrace._core.carriers.x__texts__mutmut_{n}": _AS_TEXT
        for n in (1, 3, 5, 8, 10, 12, 15, 17, 19, 22, 24, 26)
    },
    # config.py
    "metatrace._core.config.x__is_utf8__mutmut_3": _CODEC,
    # wsgi.py
    "metatrace.wsgi.xǁ_Responseǁ__init____mutmut_4": (
        "default: held is set by start_response, which PEP 3333 requires before the body's "
        "first chunk or its end; only an app that never calls it reads the default"
    ),
    "metatrace.wsgi.xǁ_Responseǁstart_response__mutmut_5": (
        "redundant guard: a PEP 3333 status is three digits and a space, and int() ignores "
        "the space"
    ),
    "metatrace.wsgi.xǁ_Responseǁstart_response__mutmut_7": _NO_CODE,
    "metatrace.wsgi.xǁ_Bodyǁ__iter____mutmut_18": (
        "default: the size is read only when a chunk came, and then gathered holds it"
    ),
    # asgi.py
    "metatrace.asgi.xǁ_PageSenderǁsend__mutmut_11": _CODEC,
    "metatrace.asgi.xǁ_PageSenderǁsend__mutmut_15": _CODEC,
    "metatrace.asgi.x__with_headers__mutmut_7": _CODEC,
    "metatrace.asgi.x__with_headers__mutmut_10": _CODEC,
    "metatrace.asgi.xǁ_PageSenderǁsend__mutmut_36": _NO_CODE,
    **{
        f"metatrace.asgi.x__location__mutmut_{n}": (
            "default: read only for an endpoint with a __qualname__ and no __module__, which "
            "no function, class or method is"
        )
        for n in (16, 19, 22)
    },
    # caching.py
    "metatrace._pages.caching.x_is_shared_cacheable__mutmut_4": (
        "default: a missing Cache-Control becomes one unknown directive, which is ignored"
    ),
    "metatrace._pages.caching.x_is_shared_cacheable__mutmut_15": (
        "default: a directive without a value gets a non-digit value either way; only max-age "
        "reads it, and reads both as not a positive number"
    ),
    "metatrace._pages.caching.x__is_future__mutmut_5": (
        "redundant guard: without a Date, _timestamp(None) fails its parse and returns None"
    ),
    "metatrace/_pages/caching.py: _DIRECTIVE_RE: A-Z -> high end - 1 at 5": (
        "no directive that is read (private, no-store, public, s-maxage, max-age) has a Z"
    ),
    "metatrace/_pages/caching.py: _DIRECTIVE_RE: a-z -> high end - 1 at 8": (
        "no directive that is read (private, no-store, public, s-maxage, max-age) has a z"
    ),
    "metatrace/_pages/caching.py: _DIRECTIVE_RE: + -> * at 13": (
        "a directive with an empty name is never read"
    ),
    # responses.py, module level
    "metatrace/_pages/responses.py: _TIMING_ENTRY_RE: + -> * at 38": (
        "redundant guard: the empty matches that * adds are dropped by the entry.strip() filter"
    ),
    # formats.py, module level
    # the key class of the one-pass reading: a key it no longer takes is read member by member
    **{
        f"metatrace/_core/formats.py: _PLAIN_KEY: {edit}": _ONE_PASS
        for edit in (
            *(f"drop {char} from class at {at}" for at, char in enumerate("!#$&'*", 1)),
            "drop \\- from class at 7",
            "drop . from class at 9",
            "drop ^ from class at 10",
            "drop ` from class at 12",
            "drop | from class at 13",
            "drop ~ from class at 14",
            "drop 0-9 from class at 15",
            "0-9 -> low end + 1 at 15",
            "0-9 -> high end - 1 at 15",
            "drop A-Z from class at 18",
            "A-Z -> low end + 1 at 18",
            "A-Z -> high end - 1 at 18",
            "a-z -> high end - 1 at 21",
        )
    },
    **{
        f"metatrace/_core/formats.py: _UNRESERVED_RE: {edit}": _UNRESERVED
        for edit in (
            "drop A-Z from class at 1",
            "A-Z -> low end + 1 at 1",
            "A-Z -> high end - 1 at 1",
            "drop a-z from class at 4",
            "a-z -> low end + 1 at 4",
            "a-z -> high end - 1 at 4",
            "drop 0-9 from class at 7",
            "0-9 -> low end + 1 at 7",
            "0-9 -> high end - 1 at 7",
            "drop _ from class at 10",
            "drop . from class at 11",
            "drop ~ from class at 12",
            "drop - from class at 13",
            "* -> + at 15",
        )
    },
    **{
        f"metatrace/_core/formats.py: {edit}": _PLAIN
        for edit in ("_PLAIN_HEADER_RE: * -> + at 35",)
    },
}

# Survivors of a mutmut run that a test kills, checked by applying the mutant by hand: mutmut
# did not select the test for the mutant, or the test was written after the run (the result
# set then still says "survived"). Mutant -> the test that fails.
KILLED_BY_HAND: dict[str, str] = {
    **{
        f"metatrace._pages.responses.x__head_end__mutmut_{n}": (
            "tests/pages/test_responses.py::test_tags_in_the_body_stay_when_the_heads_are_replaced"
        )
        for n in (1, 9)
    },
    **{
        f"metatrace.middleware.x__carry_any__mutmut_{n}": (
            "tests/pages/test_responses.py::"
            "test_a_streamed_cacheable_page_streams_as_it_is_without_trace_entries"
        )
        for n in (1, 5)
    },
    "metatrace.middleware.x__carry_any__mutmut_16": (
        "tests/pages/test_responses.py::"
        "test_a_page_off_the_common_path_with_stale_tags_is_named_in_the_warning"
    ),
    "metatrace._core.context.xǁTraceContextǁpage__mutmut_2": (
        "tests/core/test_config.py::"
        "test_a_process_that_never_configures_reads_the_environment_on_first_use"
    ),
    "metatrace._core.context.xǁTraceContextǁ_render__mutmut_97": (
        "tests/pages/test_responses.py::test_server_timing_carries_exactly_what_the_tags_carry"
    ),
}

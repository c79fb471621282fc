"""Asking the graph questions: named SPARQL queries, their parameters, the local engine.

The questions users ask live in ``queries/*.rq``, one question per file. Each file
opens with a comment header that states the question and declares its parameters::

    # question: Which measures address a theme?
    # param: theme iri(https://w3id.org/policygraph/theme/) default=standards — the theme's notation

A parameter is ``# param: NAME KIND [default=VALUE] — DESCRIPTION``, where KIND says how
the value the user gives becomes an RDF term: ``iri(NAMESPACE)`` (the value appended to
the namespace, or an absolute IRI), ``iri`` (an absolute IRI), ``string``, ``lang(TAG)``
(a language-tagged string), ``integer``, ``gYear`` or ``date``. A parameter without a
default is optional: left unbound, its variable matches anything.

Values are bound as terms, never pasted into the query text as the user typed them:
each is checked and serialised as an RDF term (:func:`policygraph.endpoint.sparql_term`)
into a ``VALUES`` block that opens the top-level ``WHERE`` group, for the local engine
(pyoxigraph) and remote endpoints alike. pyoxigraph also offers SEP-0007
``substitutions``, but its planner does not start its joins from a substituted
variable, and it does from a ``VALUES`` block: one policy's similar measures in a
1,000-document build took 0.81 s by substitution and 0.009 s by ``VALUES``. A
``VALUES`` block binds a parameter as a query means it when the parameter's variable
occurs in a required pattern (or a filter) of the top-level ``WHERE`` group and, for
SELECT, in the projection — the rule every file in ``queries/`` follows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from policygraph.errors import PolicyGraphError
from policygraph.resources import data_files

if TYPE_CHECKING:
    import pyoxigraph as ox

    from policygraph.results import Result

    Term = ox.NamedNode | ox.Literal

QUERY_SUFFIX = ".rq"
DEFAULT_DATA = Path("build")
DUMP_NAMES = ("policygraph.nq", "policygraph.trig", "policygraph.ttl", "policygraph.nt")
FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
KINDS = ("iri", "string", "lang", "integer", "gYear", "date")

XSD = "http://www.w3.org/2001/XMLSchema#"
_HEADER_LINE = re.compile(r"^#\s*(question|param)\s*:\s*(.*?)\s*$")
_DESCRIPTION_SEPARATOR = re.compile(r"\s+(?:—|--)\s+")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KIND = re.compile(r"^(?P<kind>[A-Za-z]+)(?:\((?P<argument>[^()\s]+)\))?$")
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_BAD_IRI_CHAR = re.compile(r'[<>"{}|^`\\\x00-\x20]')
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")
_VALUE_CHECKS = {
    "integer": (re.compile(r"^[+-]?\d+$"), "a whole number such as 13"),
    "gYear": (re.compile(r"^-?\d{4,}$"), "a year of four digits such as 2020"),
    "date": (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "a date such as 2017-09-05"),
}
_ERROR_POSITION = re.compile(r"error at (\d+):(\d+):?\s*(.*)", re.S)
_CHARACTER_CLASS = re.compile(r"\[[^\]]*\]")


class QueryError(PolicyGraphError):
    """A query that cannot be found, read, parsed or bound; names the file and line."""


# -- the header ---------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One declared parameter: its variable, how a value becomes a term, its default."""

    name: str
    kind: str
    argument: str | None = None  # the namespace of an iri(), the tag of a lang()
    default: str | None = None
    description: str = ""

    def describe(self) -> str:
        """The declaration as a user reads it in ``--list``."""
        kind = f"{self.kind}({self.argument})" if self.argument else self.kind
        value, optional = ("…", ", optional") if self.default is None else (self.default, "")
        described = f" — {self.description}" if self.description else ""
        return f"--param {self.name}={value}  {kind}{optional}{described}"

    def term(self, value: str) -> Term:
        """The RDF term a value stands for; a value that is not one is a user error."""
        import pyoxigraph as ox

        if self.kind == "iri":
            iri = value if _ABSOLUTE_IRI.match(value) else (self.argument or "") + value
            _check_iri(iri, f"--param {self.name}")
            return ox.NamedNode(iri)
        if self.kind == "string":
            return ox.Literal(value)
        if self.kind == "lang":
            return ox.Literal(value, language=self.argument)
        pattern, example = _VALUE_CHECKS[self.kind]
        if not pattern.match(value) or (self.kind == "date" and not _is_date(value)):
            raise QueryError(f"--param {self.name}={value!r}: expected {example}")
        lexical = str(int(value)) if self.kind == "integer" else value
        return ox.Literal(lexical, datatype=ox.NamedNode(XSD + self.kind))


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_iri(iri: str, what: str) -> None:
    """Refuse IRIs that are not absolute or hold characters SPARQL forbids in ``<…>``."""
    bad = _BAD_IRI_CHAR.search(iri)
    if bad or not _ABSOLUTE_IRI.match(iri):
        reason = f"it contains {bad.group()!r}" if bad else "it is not absolute"
        raise QueryError(f"{what}: {iri!r} is not a usable IRI ({reason})")


def _parse_param(declaration: str, where: str) -> Param:
    """One ``# param:`` line: ``NAME KIND [default=VALUE] — DESCRIPTION``."""
    head, description = _split_description(declaration)
    parts = head.split(None, 2)
    if len(parts) < 2:
        raise QueryError(f"{where}: a parameter needs a name and a kind: '# param: NAME KIND …'")
    name, kind_text = parts[0], parts[1]
    rest = parts[2].strip() if len(parts) > 2 else ""
    kind = _KIND.match(kind_text)
    if not _NAME.match(name):
        raise QueryError(f"{where}: {name!r} is not a variable name")
    if not kind or kind["kind"] not in KINDS:
        raise QueryError(
            f"{where}: unknown parameter kind {kind_text!r}; kinds: {', '.join(KINDS)}"
        )
    default = None
    if rest:
        if not rest.startswith("default="):
            raise QueryError(
                f"{where}: expected 'default=VALUE' or ' — description' after the kind"
            )
        default = rest.removeprefix("default=").strip()
    param = Param(name, kind["kind"], kind["argument"], default, description.strip())
    _check_param(param, where)
    return param


def _split_description(declaration: str) -> tuple[str, str]:
    """The declaration before `` — `` (or `` -- ``), and the description after it."""
    parts = _DESCRIPTION_SEPARATOR.split(declaration, maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def _check_param(param: Param, where: str) -> None:
    """A declaration whose kind lacks its argument, or whose default is no term, is an error."""
    if param.kind == "lang" and not (param.argument and _LANGUAGE_TAG.match(param.argument)):
        raise QueryError(f"{where}: lang() needs a language tag, e.g. lang(en)")
    if param.kind == "iri" and param.argument:
        _check_iri(param.argument, where)
    if param.kind not in ("iri", "lang") and param.argument:
        raise QueryError(f"{where}: kind {param.kind} takes no argument")
    if param.default is not None:
        try:
            param.term(param.default)
        except QueryError as exc:
            raise QueryError(f"{where}: bad default: {exc.message}") from None


def parse_header(text: str, source: str) -> tuple[str | None, tuple[Param, ...]]:
    """The question and parameters declared in the comment block that opens a query."""
    question: str | None = None
    params: list[Param] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        match = _HEADER_LINE.match(stripped)
        if match is None:
            continue
        where = f"{source}:{number}"
        if match[1] == "question":
            if question is not None:
                raise QueryError(f"{where}: a query states one question")
            question = match[2]
        else:
            params.append(_parse_param(match[2], where))
    _check_param_variables(text, source, params)
    return question, tuple(params)


def _check_param_variables(text: str, source: str, params: list[Param]) -> None:
    names = [p.name for p in params]
    for name in names:
        if names.count(name) > 1:
            raise QueryError(f"{source}: parameter {name!r} is declared twice")
        if not any(kind == "var" and value[1:] == name for kind, value, _, _ in tokens(text)):
            raise QueryError(f"{source}: parameter {name!r} is declared but ?{name} is not used")


# -- queries ------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A query text with where it came from (for messages) and its declared header."""

    text: str
    source: str
    name: str | None = None
    question: str | None = None
    params: tuple[Param, ...] = field(default=())

    @property
    def form(self) -> str:
        """SELECT, ASK, CONSTRUCT or DESCRIBE: decides the answer's formats."""
        return query_form(self.text) or "SELECT"

    @property
    def prefixes(self) -> dict[str, str]:
        """The query's own PREFIX declarations, used to shorten IRIs in answers."""
        return declared_prefixes(self.text)


def read_query(text: str, source: str, name: str | None = None) -> Query:
    """A query from its text, with its header parsed."""
    question, params = parse_header(text, source)
    return Query(text, source, name, question, params)


def _read_file(path: Path, name: str | None = None) -> Query:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise QueryError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return read_query(text, str(path), name)


@cache
def catalogue() -> dict[str, Query]:
    """Every named query in ``queries/``, by name (the file name without ``.rq``)."""
    found: dict[str, Query] = {}
    for path in data_files("queries", f"*{QUERY_SUFFIX}"):
        query = _read_file(path, path.stem)
        if not query.question:
            raise QueryError(f"{path}:1: a named query must open with '# question: …'")
        found[path.stem] = query
    return found


def resolve(spec: str) -> Query:
    """A named query, a query file or a query string — in that order."""
    named = catalogue()
    if spec in named:
        return named[spec]
    path = Path(spec)
    if path.is_file():
        return _read_file(path)
    if "{" in spec or (query_form(spec) and len(spec.split()) > 1):
        return read_query(spec, "<query>")
    if path.suffix == QUERY_SUFFIX or "/" in spec:
        raise QueryError(f"{spec}: no such query file")
    raise QueryError(
        f"unknown query {spec!r}; the named queries are: {', '.join(sorted(named))} "
        "(policygraph query --list says what each answers)"
    )


def bind(query: Query, given: Mapping[str, str]) -> dict[str, Term]:
    """The terms to bind: the values given, else the defaults; optional ones stay free."""
    declared = {param.name: param for param in query.params}
    for name in given:
        if name not in declared:
            takes = ", ".join(declared) if declared else "none"
            raise QueryError(
                f"--param {name}: {query.name or query.source} has no such "
                f"parameter (its parameters: {takes})"
            )
    bindings: dict[str, Term] = {}
    for param in query.params:
        value = given.get(param.name, param.default)
        if value is not None:
            bindings[param.name] = param.term(value)
    return bindings


def parse_param_options(options: Sequence[str]) -> dict[str, str]:
    """``--param name=value`` options as a mapping; the value may itself contain '='."""
    values: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not name.strip():
            raise QueryError(f"--param {option!r}: expected NAME=VALUE")
        values[name.strip()] = value
    return values


# -- reading SPARQL text ------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_]+)
  | (?P<bnode>_:[A-Za-z0-9_.\-]*)
  | (?P<pname>(?:[A-Za-z][A-Za-z0-9_.\-]*)?:[A-Za-z0-9_.\-:%\\]*)
  | (?P<word>[A-Za-z][A-Za-z0-9_]*)
  | (?P<open>\{) | (?P<close>\})
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.X | re.S,
)


def tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """SPARQL tokens as (kind, text, offset, brace depth), comments and strings whole.

    Just enough lexing to find keywords, prefixes and the WHERE group without being
    fooled by braces or keywords inside strings, IRIs, comments or variable names.
    """
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "close":
            depth -= 1
        if kind not in ("space", "comment"):
            yield kind, match.group(), match.start(), depth
        if kind == "open":
            depth += 1


def query_form(text: str) -> str | None:
    """The query form keyword at the top level, upper-cased, or None."""
    for kind, value, _, depth in tokens(text):
        if kind == "word" and depth == 0 and value.upper() in FORMS:
            return value.upper()
    return None


def declared_prefixes(text: str) -> dict[str, str]:
    """``PREFIX p: <iri>`` declarations as {p: iri}."""
    found: dict[str, str] = {}
    stream = list(tokens(text))
    for index, (kind, value, _, _) in enumerate(stream[:-2]):
        if kind == "word" and value.upper() == "PREFIX":
            (pkind, pname, _, _), (ikind, iri, _, _) = stream[index + 1], stream[index + 2]
            if pkind == "pname" and ikind == "iri":
                found[pname[:-1]] = iri[1:-1]
    return found


def undeclared_prefix(text: str) -> tuple[str, int] | None:
    """The first prefixed name whose prefix is not declared, with its offset."""
    declared = declared_prefixes(text)
    previous = ""
    for kind, value, offset, _ in tokens(text):
        if kind == "pname" and previous.upper() != "PREFIX":
            prefix = value.split(":", 1)[0]
            if prefix not in declared:
                return prefix, offset
        previous = value
    return None


def where_group_offset(text: str) -> int:
    """The offset just inside the ``{`` that opens the query's top-level WHERE group.

    That is where a VALUES block binds the parameters for a remote endpoint. The
    group follows the WHERE keyword; without one it is the first top-level group
    (the second for CONSTRUCT, whose first is the template).
    """
    stream = [t for t in tokens(text) if t[3] == 0]
    form = query_form(text)
    groups = [index for index, t in enumerate(stream) if t[0] == "open"]
    for index, (kind, value, _, _) in enumerate(stream[:-1]):
        if kind == "word" and value.upper() == "WHERE" and stream[index + 1][0] == "open":
            if form == "CONSTRUCT" and len(groups) == 1:
                break  # CONSTRUCT WHERE { … }: the group doubles as the template
            return stream[index + 1][2] + 1
    else:
        wanted = 1 if form == "CONSTRUCT" else 0
        if len(groups) > wanted:
            return stream[groups[wanted]][2] + 1
    raise QueryError(
        "parameters need a query with a WHERE group (for CONSTRUCT: CONSTRUCT { … } WHERE { … })"
    )


def syntax_error(query: Query, exc: SyntaxError) -> QueryError:
    """A parser's SyntaxError as one line naming the file, line and column.

    pyoxigraph reports where its parser gave up ("error at 5:19: expected …"), which
    can lie past the mistake (at the end of the query, say). rdflib's parser is asked
    too; it names the token it could not place. The earlier of the two positions is
    reported: a parser never fails before the mistake.
    """
    where = query.source
    missing = undeclared_prefix(query.text)
    if missing is not None:
        prefix, offset = missing
        line, column = _line_column(query.text, offset)
        detail = f"prefix {prefix}: is not declared (add PREFIX {prefix}: <…>)"
        return QueryError(f"{where}:{line}:{column}: SPARQL syntax error: {detail}")
    match = _ERROR_POSITION.search(str(exc))
    if match is None:
        return QueryError(f"{where}: SPARQL syntax error: {_tidy(str(exc)) or 'invalid query'}")
    line, column, expected = int(match[1]), int(match[2]), _tidy(match[3])
    second = _rdflib_position(query.text)
    if second is not None and (second[:2] < (line, column) or not expected):
        line, column, found = second
        return QueryError(f"{where}:{line}:{column}: SPARQL syntax error: unexpected {found}")
    return QueryError(
        f"{where}:{line}:{column}: SPARQL syntax error: {expected or 'invalid syntax'}"
        f"{_near(query.text, line, column)}"
    )


def _tidy(detail: str) -> str:
    """pyoxigraph's list of expected tokens without its character classes, cut short."""
    detail = " ".join(_CHARACTER_CLASS.sub("", detail).split())
    detail = re.sub(r"(,\s*)+(?=,|$)", "", detail).rstrip(" ,")
    if detail in ("expected", "expected one of"):
        return ""
    return detail if len(detail) <= 120 else detail[:119].rsplit(",", 1)[0] + ", …"


def _rdflib_position(text: str) -> tuple[int, int, str] | None:
    """Where rdflib's parser fails on the text, and the token it found there."""
    import pyparsing
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        parseQuery(text)
    except pyparsing.ParseException as exc:
        found = re.search(r"found (.+?)\s+\(at char", str(exc))
        token = found[1] if found else "text"
        return exc.lineno, exc.col, "end of query" if token == "end of text" else token
    except Exception:  # any other failure only means there is no second opinion
        return None
    return None


def _line_column(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _near(text: str, line: int, column: int) -> str:
    """What stands at a position, to show with the message."""
    lines = text.splitlines()
    if line > len(lines):
        return " (at the end of the query)"
    rest = lines[line - 1][max(column - 1, 0) :].strip()
    if not rest:
        return " (at the end of the line)" if line < len(lines) else " (at the end of the query)"
    return f" (near {rest[:30]!r})"


# -- the local engine ---------------------------------------------------------------


def data_files_for(paths: Sequence[Path]) -> list[Path]:
    """The RDF files to load: files as given, a build folder's main dump (all its parts)."""
    from policygraph import dumpfile

    files: list[Path] = []
    for path in paths or [DEFAULT_DATA]:
        if path.is_dir():
            found = (dumpfile.find_all(path, name) for name in DUMP_NAMES)
            dump = next((d for d in found if d), None)
            if dump is None:
                raise QueryError(
                    f"{path}: no {' or '.join(DUMP_NAMES)} here (nor gzip-compressed, nor "
                    "in parts); build first (policygraph build) or name RDF files with --data"
                )
            files.extend(dump)
        elif path.is_file():
            files.append(path)
        elif path == DEFAULT_DATA and not paths:
            raise QueryError(
                "build/: no build to query; run 'policygraph build' first, "
                "or pass --data FILE or --endpoint URL"
            )
        else:
            raise QueryError(f"{path}: no such file or folder")
    return files


def load_store(paths: Sequence[Path]) -> ox.Store:
    """A pyoxigraph store holding the files (quads keep their graphs).

    One build folder is read from its persistent store (:mod:`policygraph.store`; made
    on first use when the build is large, so later queries start at once); files, or
    several folders, are loaded into memory.
    """
    folders = list(paths) or [DEFAULT_DATA]
    if len(folders) == 1 and folders[0].is_dir():
        from policygraph.store import StoreError, locate

        try:
            return locate(folders[0]).open()
        except StoreError as exc:
            raise QueryError(str(exc)) from None
    return load_in_memory(data_files_for(paths))


def load_in_memory(files: Sequence[Path]) -> ox.Store:
    """An in-memory store holding the files, each parsed by its extension (a ``.gz``
    file by the one before it, decompressed as it is read)."""
    import pyoxigraph as ox

    from policygraph import dumpfile

    store = ox.Store()
    for path in files:
        rdf_format = ox.RdfFormat.from_extension(dumpfile.rdf_suffix(path).lstrip(".").lower())
        if rdf_format is None:
            raise QueryError(
                f"{path}: unknown RDF file type; use .nq, .trig, .ttl, .nt, .jsonld or .rdf"
                " (or one of them .gz)"
            )
        try:
            with dumpfile.source(path) as given:
                store.load(**given, format=rdf_format)
        except SyntaxError as exc:
            raise QueryError(f"{path}: not valid {rdf_format.name}: {exc}") from None
        except dumpfile.DECOMPRESSION_ERRORS as exc:
            raise QueryError(f"{path}: cannot be decompressed: {exc}") from None
    return store


def run_local(
    query: Query, store: ox.Store, bindings: Mapping[str, Term], graphs: Sequence[str] = ()
) -> Result:
    """Answer with pyoxigraph; the default graph is the union of all graphs, or of ``graphs``."""
    import pyoxigraph as ox

    from policygraph import results
    from policygraph.endpoint import inline_values

    default_graph = [ox.NamedNode(iri) for iri in graphs] or None
    try:
        answer = store.query(
            inline_values(query.text, bindings),
            use_default_graph_as_union=default_graph is None,
            default_graph=default_graph,
        )
        return results.from_oxigraph(answer)
    except SyntaxError as exc:
        raise syntax_error(query, exc) from None
    except (RuntimeError, ValueError) as exc:
        raise QueryError(f"{query.source}: {exc}") from None


def check_syntax(query: Query, bindings: Mapping[str, Term]) -> None:
    """Parse (and bind) a query locally, so a remote endpoint never sees a broken one."""
    import pyoxigraph as ox

    run_local(query, ox.Store(), bindings)


def run(
    query: str | Query,
    *,
    data: Sequence[str | Path] = (),
    endpoint: str | None = None,
    params: Mapping[str, str] | None = None,
    graphs: Sequence[str] = (),
    timeout: float = 60.0,
) -> Result:
    """Answer a query — a name in ``queries/``, a file or a query string.

    :param data: RDF files or build folders to query locally (default: ``build/``).
    :param endpoint: the URL of a SPARQL endpoint to ask instead.
    :param params: parameter values by name, bound as the terms the header declares.
    :param graphs: named graphs whose union is the default graph (default: all graphs);
        an endpoint receives them as ``default-graph-uri``.
    :param timeout: seconds to wait for a remote endpoint.
    :returns: a :mod:`policygraph.results` answer (solutions, boolean or triples).
    :raises QueryError: on an unknown, broken or wrongly bound query.
    """
    if isinstance(query, str):
        query = resolve(query)
    bindings = bind(query, params or {})
    for iri in graphs:
        _check_iri(iri, "--graph")
    if endpoint is not None:
        if data:
            raise QueryError("--data and --endpoint exclude each other: ask one or the other")
        from policygraph.endpoint import ask_endpoint

        check_syntax(query, bindings)
        return ask_endpoint(query, endpoint, bindings, graphs=graphs, timeout=timeout)
    return run_local(query, load_store([Path(p) for p in data]), bindings, graphs)

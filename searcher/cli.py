"""The ``mqt`` command line: a thin shell over ``index_data`` and ``searcher``.

Every command calls one library function and prints its result. Exit codes:
0 success; 1 error (bad query, no index, unreadable index...); 2 bad usage;
3 finished, but some corpus files were rejected; 4 another job holds the index;
5 refused: the job would remove too many documents from the index (nothing changed).
"""

from __future__ import annotations

import gc
import os
import sys
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from index_data import __version__
from index_data.errors import IndexLockedError, MqtError, TooManyDeletionsError
from index_data.locking import DEFAULT_WAIT_SECONDS
from index_data.model import STATUSES
from index_data.safety import DEFAULT_MAX_DELETE

from .results import SORTS

if TYPE_CHECKING:
    from .search import Searcher

EXIT_REJECTED = 3
EXIT_LOCKED = 4
EXIT_REFUSED = 5


class MqtClickError(click.ClickException):
    """A user error: one line on stderr, no traceback, a documented exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click's class default, per error here


def user_errors(fn):
    """Turn mqt's own errors into one-line CLI errors with the right exit code."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except IndexLockedError as e:
            raise MqtClickError(str(e), EXIT_LOCKED) from None
        except TooManyDeletionsError as e:
            raise MqtClickError(str(e), EXIT_REFUSED) from None
        except MqtError as e:
            raise MqtClickError(str(e)) from None
        except KeyboardInterrupt:
            raise MqtClickError("interrupted", 130) from None

    return wrapper


def index_option(fn):
    return click.option(
        "--index", "index_dir", type=click.Path(path_type=Path), envvar="MQT_INDEX",
        default=".mqt-index", show_default=True,
        help="Index directory (or set MQT_INDEX).")(fn)


def wait_option(fn):
    return click.option(
        "--wait", type=click.FloatRange(0), default=DEFAULT_WAIT_SECONDS, show_default=True,
        metavar="SECONDS",
        help="If another indexing job holds the index, wait this long for it, then exit 4.")(fn)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object (schema in the README).")(fn)


def use_color(choice: str = "auto", stream=None) -> bool:
    """``--color``: always, never, or (auto) only on a terminal and never when NO_COLOR is set."""
    if choice in ("always", "never"):
        return choice == "always"
    return (stream or sys.stdout).isatty() and not os.environ.get("NO_COLOR")


class progress_bar:
    """A ``progress(done, total)`` callback drawing a bar on stderr when it is a terminal."""

    def __init__(self, label: str = "Indexing"):
        self.label = label
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)
        if done >= total:
            self.bar.__exit__(None, None, None)


def print_json(obj) -> None:
    """One JSON object on stdout (``results.to_json``: no markup from a document in the text)."""
    from .results import to_json

    click.echo(to_json(obj))


def _searcher_class() -> type[Searcher]:
    """``Searcher``: the search stack (numpy, Whoosh, the engine) imported with the cyclic garbage
    collector paused and its objects then frozen (``gc.freeze``), when this call imports it.

    Those ~15,000 objects live as long as the process; the collections their own import triggers
    would scan each about twice for nothing (~5 ms of CPU of a cold ``mqt search``, of ~10 ms spent
    collecting in all), and frozen they stay out of the command's collections too. A process that
    already has the stack (a test's CliRunner) keeps its collector as it was.
    """
    if "searcher.search" not in sys.modules:
        enabled = gc.isenabled()
        gc.disable()
        try:
            from . import search  # noqa: F401
        finally:
            gc.freeze()
            if enabled:
                gc.enable()
    from .search import Searcher

    return Searcher


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mqt")
def cli():
    """mqt: full-text search of the London Assembly's Questions to the Mayor.

    \b
    Example:
        mqt index corpus/
        mqt search "hate crime" --party labour --from 2016
    """


@cli.command("index")
@click.argument("corpus_dir", type=click.Path(path_type=Path))
@index_option
@json_option
@click.option("--procs", type=click.IntRange(1, 64), default=None,
              help="Indexing processes.  [default: one per CPU core, at most 4; 1 under 4,000 files]")
@wait_option
@click.option("--force", is_flag=True,
              help="Replace the index even if the new one is empty, or built from another folder "
                   "and missing more than 10% of its documents.")
@user_errors
def index_cmd(corpus_dir, index_dir, as_json, procs, wait, force):
    """Build the index of CORPUS_DIR from scratch (replacing any index there).

    The new index is built beside the old one and swapped in when complete, so searches
    keep working meanwhile. Files that cannot be parsed are listed and skipped; the exit
    status is then 3. An index is never replaced by an empty one, nor by one built from
    another folder that lacks more than 10% of its documents, without --force (exit 5).

    \b
    Example:
        mqt index corpus/ --index ~/.mqt-index
    """
    from index_data import build_index

    report = build_index(corpus_dir, index_dir, procs=procs, progress=progress_bar(), wait=wait,
                         force=force)
    if as_json:
        print_json(report.to_dict())
    rate = report.indexed / report.seconds if report.seconds else 0.0
    click.echo(f"Indexed {report.indexed:,} question(s) from {corpus_dir} into {index_dir} in "
               f"{report.seconds:.1f} s ({rate:,.0f}/s); rejected {len(report.rejected):,}.", err=True)
    for r in report.rejected:
        click.echo(f"  rejected {r}", err=True)
    if report.rejected:
        sys.exit(EXIT_REJECTED)


def _delete_limit(ctx, param, value):
    from index_data.safety import DeleteLimit

    try:
        return DeleteLimit.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@cli.command("reindex")
@click.argument("corpus_dir", type=click.Path(path_type=Path))
@index_option
@json_option
@wait_option
@click.option("--optimize", is_flag=True, help="Also merge the index into a single segment.")
@click.option("--max-delete", "max_delete", metavar="N|PCT", default=DEFAULT_MAX_DELETE,
              show_default=True, callback=_delete_limit,
              help="Refuse (exit 5, nothing changed) to remove more documents than this: a count "
                   "or a share of the index (at least 10 documents are always allowed).")
@click.option("--allow-deletes", is_flag=True,
              help="Remove any number of documents, even all of them (no --max-delete limit).")
@click.option("--verify-stores", is_flag=True,
              help="Also read every posting store whole and rewrite one whose bytes fail their "
                   "CRC-32s (every run checks their structure; this reads ~4 GB at 1M questions).")
@user_errors
def reindex_cmd(corpus_dir, index_dir, as_json, wait, optimize, max_delete, allow_deletes,
                verify_stores):
    """Bring the index up to date with CORPUS_DIR, changing only what changed.

    Adds new files, updates changed ones (by content), deletes documents whose file is gone,
    and builds the index if there is none (or rebuilds it, swapped in atomically, after a
    schema change). Safe to run from cron while people search; a run killed half-way is
    completed by the next. Summary on stderr; --json prints counts on stdout.

    A run that would remove more than --max-delete documents (default 10% of the index),
    every document, or that finds no question files (an unmounted or mistyped folder)
    changes nothing and exits 5, saying why; --allow-deletes says it is intended.

    \b
    Exit status: 0 done; 3 done, but some files were rejected (listed on stderr);
    4 another indexing job holds the index (after waiting --wait seconds); 5 refused:
    too many documents would be removed (nothing changed); 1 fatal error.

    \b
    Example:
        mqt reindex corpus/ --index /srv/mqt/index --wait 300 --json
    """
    from index_data import reindex

    report = reindex(corpus_dir, index_dir, wait=wait, optimize=optimize,
                     progress=progress_bar("Reading changed files"),
                     max_delete=None if allow_deletes else max_delete, verify_stores=verify_stores)
    if as_json:
        print_json(report.to_dict())
    click.echo(report.summary(), err=True)
    for r in report.rejected:
        click.echo(f"  rejected {r}", err=True)
    _run_watches(index_dir)
    if report.rejected:
        sys.exit(EXIT_REJECTED)


def _run_watches(index_dir) -> None:
    """After a reindex: record what is new for each watch (if the index has any); one line
    each on stderr."""
    from .watch import db_path

    if not db_path(index_dir).exists():
        return
    from .search import Searcher  # not _searcher_class: after a reindex, gc.freeze would keep its garbage
    from .watch import WatchStore

    with Searcher(index_dir) as s, WatchStore(index_dir) as store:
        if not store.list():
            return
        run = store.run(s)
    for name, entries in run.new.items():
        click.echo(f"watch {name}: {len(entries)} new", err=True)


def _date_option(ctx, param, value):
    """``--from``/``--to``: a date as YYYY, YYYY-MM or YYYY-MM-DD (a usage error names the option)."""
    if value is None or value == "":
        return None
    from .query import date_bounds

    try:
        date_bounds(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)") from None
    return value


def search_filters(fn):
    """The filter and order options shared by ``search``, ``export`` (and ``serve``'s API)."""
    options = [
        click.option("--asker", help='Only questions by this member (e.g. "Navin Shah"; any word order).'),
        click.option("--party", help="Only questions from this party or group (e.g. labour, "
                                     "\"lib dem\": names in searcher/data/parties.txt)."),
        click.option("--asked-of", "asked_of", help='Only questions asked of (e.g. "The Mayor").'),
        click.option("--meeting", help="Only questions from this meeting (e.g. plenary)."),
        click.option("--status", type=click.Choice(STATUSES)),
        click.option("--from", "date_from", metavar="DATE", callback=_date_option,
                     help="Meetings on or after (YYYY[-MM[-DD]])."),
        click.option("--to", "date_to", metavar="DATE", callback=_date_option,
                     help="Meetings on or before (YYYY[-MM[-DD]])."),
        click.option("--sort", type=click.Choice(SORTS),
                     default="relevance", show_default=True,
                     help="relevance_recent: relevance, nudging recent questions up among near-equals."),
        click.option("--no-synonyms", "no_synonyms", is_flag=True,
                     help="Match only the words typed (no TfL = Transport for London...)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def color_option(fn):
    return click.option(
        "--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto",
        show_default=True,
        help="Colour and bold highlights: auto = on a terminal without NO_COLOR; always (e.g. "
             "for `less -R`); never.")(fn)


def _filters(kw: dict) -> dict:
    """The library's keyword arguments for the shared filter options."""
    return dict(asker=kw["asker"], party=kw["party"], asked_of=kw["asked_of"], meeting=kw["meeting"],
                status=kw["status"], date_from=kw["date_from"], date_to=kw["date_to"], sort=kw["sort"],
                synonyms=not kw["no_synonyms"])


@cli.command("search")
@click.argument("query", nargs=-1)
@index_option
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="Hits per page.")
@click.option("--page", type=click.IntRange(1, 10000), default=1, show_default=True)
@search_filters
@click.option("--facets", "show_facets", is_flag=True, help="Show counts by party, asker, year...")
@click.option("--facets-limit", "facets_limit", type=click.IntRange(1), default=5, show_default=True,
              metavar="N", help="Values shown per facet with --facets.")
@click.option("--count", "count_only", is_flag=True, help="Print only the number of matches.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "jsonl", "csv", "ids", "atom"]),
              default="text", show_default=True,
              help="json: one page as one object (= --json); jsonl, csv, ids: EVERY match, all "
                   "pages, streamed (columns in the README); atom: the --limit newest matches as "
                   "an Atom feed.")
@click.option("--base-url", "base_url", metavar="URL",
              help="With --format atom: link entries to URL/q/ID (where mqt serve runs).")
@color_option
@json_option
@user_errors
def search_cmd(query, index_dir, limit, page, show_facets, facets_limit, count_only, fmt, base_url,
               color, as_json, **kw):
    """Search the index; QUERY words are joined with spaces (see README "Query syntax").

    The hits go to stdout; the footer (counts, time) to stderr.

    \b
    Example:
        mqt search hate crime --party labour --from 2016 --facets
        mqt search '"knife crime" -county' --sort newest --json
        mqt search 'asker:"Navin Shah" year:2017' --count
        mqt search cycle superhighway --format csv > cycling.csv
        mqt search Met Police --sort relevance_recent --no-synonyms --color always | less -R
    """
    Searcher = _searcher_class()

    text = " ".join(query)
    fmt = "json" if as_json else fmt
    with Searcher(index_dir) as s:
        if fmt in ("jsonl", "csv", "ids"):
            from .export import write

            results = s.iter_results(text, **_filters(kw))
            write(results, sys.stdout, fmt)
            click.echo(f"{results.total:,} match(es).", err=True)
            return
        if fmt == "atom":
            from .feeds import search_feed

            args = {**_filters(kw), "sort": "newest"}
            page_ = s.search(text, limit=limit, page=page, facets=False, snippets=False,
                             suggest=False, **args)
            sys.stdout.buffer.write(search_feed(s, page_, base_url=base_url))
            sys.stdout.flush()
            return
        if count_only:
            page_ = s.search(text, limit=1, page=1, facets=False, snippets=False, suggest=False,
                             **_filters(kw))
        else:  # the same call as GET /api/search (searcher.params)
            from .params import SearchRequest

            page_ = SearchRequest(text, limit=limit, page=page, **_filters(kw)).run(
                s, facets=fmt == "json" or show_facets)
    if count_only:
        click.echo(page_.total)
    elif fmt == "json":
        print_json(page_.to_dict())
    else:
        from .display import Style, format_footer, format_page

        on = use_color(color)
        click.echo(format_page(page_, Style(on), show_facets=show_facets, facets_limit=facets_limit),
                   color=on)
        on_err = use_color(color, sys.stderr)
        footer = format_footer(page_, Style(on_err))
        if footer:
            click.echo(footer, err=True, color=on_err)


@cli.command("export")
@click.argument("query", nargs=-1)
@index_option
@search_filters
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True, help="File to write (- is stdout).")
@user_errors
def export_cmd(query, index_dir, fmt, output, **kw):
    """Write EVERY question matching QUERY (not one page), in rank order, as CSV or JSON Lines.

    Columns: id, title, meeting, meeting_date, asker, party, asked_of, status, question,
    answers. CSV is RFC 4180, UTF-8, with a header row, the answers joined by a blank line
    ("<answered by>: <text>"); JSON Lines gives answers as a list. Streamed: any number of
    rows in constant memory. An empty QUERY exports everything the filters let through.

    \b
    Example:
        mqt export "hate crime" --party labour --from 2016 --output hate-crime.csv
        mqt export --asker "Caroline Pidgeon" --format jsonl | jq -r .title
    """
    from .export import write
    Searcher = _searcher_class()

    with Searcher(index_dir) as s:
        results = s.iter_results(" ".join(query), **_filters(kw))
        if output == "-":
            n = write(results, sys.stdout, fmt)
        else:
            try:
                with open(output, "w", encoding="utf-8", newline="") as out:
                    n = write(results, out, fmt)
            except OSError as e:
                raise MqtClickError(f"cannot write {output}: {e.strerror or e}") from None
    click.echo(f"Exported {n:,} question(s){'' if output == '-' else ' to ' + output}.", err=True)


@cli.command("similar")
@click.argument("doc_id")
@index_option
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@color_option
@json_option
@user_errors
def similar_cmd(doc_id, index_dir, limit, color, as_json):
    """Questions like DOC_ID, most similar first ("has this been asked before?").

    Chosen by the question's key words (tf-idf of its title, question and answer), searched
    with BM25F; the question itself is left out.

    \b
    Example:
        mqt similar 000_f69fb07d1f8a9a60 --limit 5
        mqt similar 000_f69fb07d1f8a9a60 --json
    """
    from .display import Style, format_footer, format_page
    Searcher = _searcher_class()

    with Searcher(index_dir) as s:
        page_ = s.similar(doc_id, limit=limit)
    if as_json:
        print_json(page_.to_dict())
    else:
        on = use_color(color)
        click.echo(format_page(page_, Style(on)), color=on)
        on_err = use_color(color, sys.stderr)
        footer = format_footer(page_, Style(on_err))
        if footer:
            click.echo(footer, err=True, color=on_err)


@cli.command("show")
@click.argument("doc_id")
@index_option
@color_option
@json_option
@user_errors
def show_cmd(doc_id, index_dir, color, as_json):
    """Show one question and its answers in full.

    \b
    Example:
        mqt show 000_f69fb07d1f8a9a60
    """
    from .display import Style, format_question
    Searcher = _searcher_class()

    with Searcher(index_dir) as s:
        rec = s.get(doc_id)
    if as_json:
        print_json(rec.to_dict())
    else:
        on = use_color(color)
        click.echo(format_question(rec, Style(on)), color=on)


@cli.command("stats")
@index_option
@color_option
@json_option
@user_errors
def stats_cmd(index_dir, color, as_json):
    """Document count, date range, top askers and parties, index size and build time.

    \b
    Example:
        mqt stats --json
    """
    from .display import Style, format_stats
    Searcher = _searcher_class()

    with Searcher(index_dir) as s:
        st = s.stats()
    if as_json:
        print_json(st.to_dict())
    else:
        on = use_color(color)
        click.echo(format_stats(st, Style(on)), color=on)


@cli.command("trend")
@click.argument("query", nargs=-1)
@index_option
@search_filters
@click.option("--interval", type=click.Choice(["year", "month"]), default="year", show_default=True)
@click.option("--by", type=click.Choice(["party", "asker", "asked_of"]), default=None,
              help="Split each period's count by this field.")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per period (a column per group).")
@color_option
@json_option
@user_errors
def trend_cmd(query, index_dir, interval, by, as_csv, color, as_json, **kw):
    """How often QUERY came up: matching questions per year (or month), as a bar chart.

    Every period from the first match to the last (or the --from/--to range) is listed,
    zeros included; --by splits each count by party, asker or asked_of. The counts are those
    of `mqt search` with the same arguments (its year facet).

    \b
    Example:
        mqt trend "hate crime" --from 2016
        mqt trend '"rough sleeping"' --interval month --from 2019 --to 2020
        mqt trend ulez --by party --json
        mqt trend knife crime --by asker --csv > knife-crime.csv
    """
    from .display import Style, format_trend
    Searcher = _searcher_class()

    args = _filters(kw)
    args.pop("sort")
    with Searcher(index_dir) as s:
        t = s.trend(" ".join(query), interval=interval, by=by, **args)
    if as_json:
        print_json(t.to_dict())
    elif as_csv:
        import csv

        groups = list(t.groups)
        w = csv.writer(sys.stdout, lineterminator="\r\n")
        w.writerow(["period", "count"] + groups)
        for b in t.buckets:
            w.writerow([b.period, b.count] + [b.groups.get(g, 0) for g in groups])
    else:
        on = use_color(color)
        click.echo(format_trend(t, Style(on)), color=on)


@cli.group("watch")
def watch_group():
    """Saved searches that report new and changed questions (alerts).

    A watch is a named search. Every `mqt reindex` (or `mqt watch run`) records, for each
    watch, the questions that now match it and were added or changed since its last run,
    each version once, even if a run is killed; `mqt watch feed NAME` gives them as an Atom
    feed. Watches are kept beside the index (INDEX.watches.sqlite) and survive rebuilds.

    \b
    Example:
        mqt watch add hate-crime "hate crime" --party labour
        mqt reindex corpus            # runs the watches after the update
        mqt watch feed hate-crime --base-url https://mqt.example.org > hate-crime.atom
    """


@watch_group.command("add")
@click.argument("name")
@click.argument("query", nargs=-1)
@index_option
@click.option("--asker")
@click.option("--party")
@click.option("--asked-of", "asked_of")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--from", "date_from", metavar="DATE", callback=_date_option)
@click.option("--to", "date_to", metavar="DATE", callback=_date_option)
@click.option("--no-synonyms", "no_synonyms", is_flag=True)
@json_option
@user_errors
def watch_add_cmd(name, query, index_dir, no_synonyms, as_json, **filters):
    """Save QUERY (with filters) as watch NAME; it reports questions from now on.

    \b
    Example:
        mqt watch add ulez ULEZ --from 2019
        mqt watch add boff-housing housing --asker "Andrew Boff"
    """
    Searcher = _searcher_class()
    from .watch import WatchStore

    with Searcher(index_dir) as s, WatchStore(index_dir) as store:
        w = store.add(s, name, " ".join(query), filters, synonyms=not no_synonyms)
    if as_json:
        print_json(w.to_dict())
    click.echo(f"Watching {w.name!r}: {w.query or '(every question)'}"
               + "".join(f" --{k.replace('_', '-').replace('date-', '')} {v}"
                         for k, v in w.filters.items()) + ".", err=True)


@watch_group.command("list")
@index_option
@json_option
@user_errors
def watch_list_cmd(index_dir, as_json):
    """List the watches: name, search, entries recorded, last run.

    \b
    Example:
        mqt watch list --json
    """
    from .watch import WatchStore

    with WatchStore(index_dir) as store:
        watches = store.list()
    if as_json:
        print_json([w.to_dict() for w in watches])
        return
    if not watches:
        click.echo("No watches (add one with mqt watch add NAME QUERY).", err=True)
    for w in watches:
        flt = "".join(f" {k}={v}" for k, v in w.filters.items())
        click.echo(f"{w.name}\t{w.query or '(every question)'}{flt}\t{w.entries} entries\t"
                   f"last run {w.last_run_at or 'never'}")


@watch_group.command("remove")
@click.argument("name")
@index_option
@user_errors
def watch_remove_cmd(name, index_dir):
    """Delete watch NAME and its feed.

    \b
    Example:
        mqt watch remove ulez
    """
    from .watch import WatchStore

    with WatchStore(index_dir) as store:
        store.remove(name)
    click.echo(f"Removed watch {name!r}.", err=True)


@watch_group.command("run")
@index_option
@json_option
@user_errors
def watch_run_cmd(index_dir, as_json):
    """Record, for every watch, the questions new or changed since its last run.

    `mqt reindex` does this after each update; run it yourself after an update made another
    way. Prints what this run recorded (each question version once, ever).

    \b
    Example:
        mqt watch run --json | jq '.watches[] | {name, new: (.new | length)}'
    """
    Searcher = _searcher_class()
    from .watch import WatchStore

    with Searcher(index_dir) as s, WatchStore(index_dir) as store:
        run = store.run(s)
    _print_watch_run(run, as_json)


def _print_watch_run(run, as_json: bool) -> None:
    if as_json:
        print_json(run.to_dict())
        return
    for name, entries in run.new.items():
        click.echo(f"watch {name}: {len(entries)} new", err=True)
        for e in entries:
            click.echo(f"{name}\t{e.meeting_date}\t{e.id}\t{clean_title(e.title)}")


def clean_title(text: str) -> str:
    from .display import clean_line

    return clean_line(text)


@watch_group.command("feed")
@click.argument("name")
@index_option
@click.option("--base-url", "base_url", metavar="URL",
              help="Link entries to URL/q/ID and the feed to URL/watch/NAME.atom (mqt serve).")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@user_errors
def watch_feed_cmd(name, index_dir, base_url, limit):
    """Print watch NAME's entries as an Atom feed, newest first.

    \b
    Example:
        mqt watch feed hate-crime --base-url https://mqt.example.org > /var/www/hate-crime.atom
    """
    from .watch import WatchStore

    with WatchStore(index_dir) as store:
        data = store.feed(name, base_url=base_url, limit=limit)
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@cli.command("demo")
@click.argument("corpus_dir", type=click.Path(path_type=Path))
@click.option("--count", type=click.IntRange(1, 1_000_000), default=2000, show_default=True,
              help="Questions to write.")
@click.option("--seed", type=int, default=1, show_default=True)
@user_errors
def demo_cmd(corpus_dir, count, seed):
    """Write a SYNTHETIC corpus to CORPUS_DIR to try mqt on (the bundled corpus is one question).

    Invented members, parties and dates, and word-salad text: every title starts with
    "Synthetic:" and the folder holds a SYNTHETIC.md saying so. Then index and search it.

    \b
    Example:
        mqt demo demo-corpus && mqt index demo-corpus --index demo-index
        mqt search housing --index demo-index --facets
    """
    from index_data.synthetic import demo

    if corpus_dir.exists() and any(corpus_dir.iterdir()):
        raise MqtClickError(f"{corpus_dir} is not empty: give a new folder for the demo corpus")
    demo(corpus_dir, count, seed)
    click.echo(f"Wrote {count:,} SYNTHETIC questions (made up, not real) to {corpus_dir}. Next:\n"
               f"  mqt index {corpus_dir} --index {corpus_dir}-index\n"
               f"  mqt search housing --index {corpus_dir}-index --facets", err=True)


@cli.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; put a reverse proxy in front).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes sharing the index (each answers any request).")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="Searches run at once per process.  [default: one per core, at most 8]")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="One line per request on stderr.")
def serve_cmd(index_dir, host, port, workers, threads, access_log):
    """Serve the search page and the JSON API over HTTP (see README "Web and API").

    The index is only read. A reindex is picked up by every worker without a restart; the server
    starts before the index exists and answers 503 until it does. SIGTERM or Ctrl-C stops it
    gracefully (requests in flight are answered first).

    \b
    Pages: /  (search)  /trend?q=…  (per year or month, by party)  /q/ID  (one question)
    API:   /api/search?q=…  /api/questions/ID  /api/questions/ID/similar
           /api/trend?q=…  /api/stats  /healthz  /api/openapi.json
    Files: /search.atom?q=…  /watch/NAME.atom  /export.csv?q=…  /export.jsonl?q=…

    \b
    Example:
        mqt serve --index /srv/mqt/index --port 8000 --workers 2
    """
    import uvicorn

    os.environ["MQT_INDEX"] = os.path.abspath(index_dir)  # not resolve(): a symlink may be switched
    os.environ["MQT_SERVE_THREADS"] = str(threads or "")
    os.environ["MQT_ACCESS_LOG"] = "1" if access_log else "0"
    click.echo(f"mqt: serving {index_dir} on http://{host}:{port}/ with {workers} worker(s); "
               "Ctrl-C to stop", err=True)
    # httptools (C) parses HTTP instead of uvicorn's pure-Python h11, and uvloop runs the event
    # loop: less of the server's own CPU per request; with several workers, a worker holding
    # fewer connections accepts the next one first (searcher/web/balance.py; docs/benchmarks.md)
    loop = "searcher.web.balance:new_event_loop" if workers > 1 else "uvloop"
    uvicorn.run("searcher.web.app:from_env", factory=True, host=host, port=port, workers=workers,
                http="httptools", loop=loop, access_log=False, server_header=False,
                timeout_graceful_shutdown=30, log_level="info")


def main():
    """The ``mqt`` console script: one command, then the process ends.

    When it ends, the interpreter's last garbage collections would scan every object still
    alive (~10 ms of a cold ``mqt search`` at 100,000 questions: numpy, Whoosh, the modules'
    own objects), only for the process to free them all: ``gc.freeze()`` leaves them out of
    those scans. Objects are still released and files closed as usual; reference cycles left
    at exit are not collected (nothing in them has work left to do: commands close what they
    open). Tests call ``cli`` through click's runner, never this.
    """
    # numpy's OpenBLAS starts a spinning thread per core when numpy is imported, ~0.1 s of CPU for
    # each mqt process (half of a cold search's), though mqt never multiplies matrices large
    # enough to use them; one thread unless the user chose otherwise. Measured: the wall time of
    # an idle machine's cold search is unchanged, its CPU 0.27 -> 0.17 s.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        cli(prog_name="mqt")
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()

"""The ``mqt`` command line: a thin shell over ``index_data`` and ``searcher``.

Every command calls one library function and prints its result. Exit codes:
0 success; 1 error (bad query, no index, unreadable index...); 2 bad usage;
3 finished, but some corpus files were rejected; 4 another job holds the index;
5 refused: the job would remove too many documents from the index (nothing changed).
"""

from __future__ import annotations

import os
import sys
from functools import wraps
from pathlib import Path

import click

from index_data import __version__
from index_data.errors import IndexLockedError, MqtError, TooManyDeletionsError
from index_data.locking import DEFAULT_WAIT_SECONDS
from index_data.safety import DEFAULT_MAX_DELETE

EXIT_REJECTED = 3
EXIT_LOCKED = 4
EXIT_REFUSED = 5


class MqtClickError(click.ClickException):
    """A user error: one line on stderr, no traceback, a documented exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


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


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


class progress_bar:
    """A ``progress(done, total)`` callback drawing a bar on stderr when it is a terminal."""

    def __init__(self, label: str = "Indexing"):
        self.label = label
        self.bar = None

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
    from index_data.build import build_index

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
@user_errors
def reindex_cmd(corpus_dir, index_dir, as_json, wait, optimize, max_delete, allow_deletes):
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
    from index_data.reindex import reindex

    report = reindex(corpus_dir, index_dir, wait=wait, optimize=optimize,
                     progress=progress_bar("Reading changed files"),
                     max_delete=None if allow_deletes else max_delete)
    if as_json:
        print_json(report.to_dict())
    click.echo(report.summary(), err=True)
    for r in report.rejected:
        click.echo(f"  rejected {r}", err=True)
    if report.rejected:
        sys.exit(EXIT_REJECTED)


@cli.command("search")
@click.argument("query", nargs=-1)
@index_option
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="Hits per page.")
@click.option("--page", type=click.IntRange(1, 10000), default=1, show_default=True)
@click.option("--asker", help='Only questions by this member (e.g. "Navin Shah").')
@click.option("--party", help="Only questions from this party/group (e.g. labour).")
@click.option("--asked-of", "asked_of", help='Only questions asked of (e.g. "The Mayor").')
@click.option("--meeting", help="Only questions from this meeting (e.g. plenary).")
@click.option("--status", type=click.Choice(["answered", "holding", "unanswered"]))
@click.option("--from", "date_from", metavar="DATE", help="Meetings on or after (YYYY[-MM[-DD]]).")
@click.option("--to", "date_to", metavar="DATE", help="Meetings on or before (YYYY[-MM[-DD]]).")
@click.option("--sort", type=click.Choice(["relevance", "relevance_recent", "newest", "oldest"]),
              default="relevance", show_default=True,
              help="relevance_recent: relevance, nudging recent questions up among near-equals.")
@click.option("--facets", "show_facets", is_flag=True, help="Show counts by party, asker, year...")
@click.option("--no-synonyms", "no_synonyms", is_flag=True,
              help="Match only the words typed (no TfL = Transport for London...).")
@json_option
@user_errors
def search_cmd(query, index_dir, limit, page, asker, party, asked_of, meeting, status, date_from,
               date_to, sort, show_facets, no_synonyms, as_json):
    """Search the index; QUERY words are joined with spaces (see README "Query syntax").

    \b
    Example:
        mqt search hate crime --party labour --from 2016 --facets
        mqt search '"knife crime" -county' --sort newest --json
        mqt search 'asker:"Navin Shah" year:2017'
        mqt search Met Police --sort relevance_recent --no-synonyms
    """
    from .display import Style, format_page
    from .params import SearchRequest
    from .search import Searcher

    request = SearchRequest(" ".join(query), limit=limit, page=page, asker=asker, party=party,
                            asked_of=asked_of, meeting=meeting, status=status, date_from=date_from,
                            date_to=date_to, sort=sort, synonyms=not no_synonyms)
    with Searcher(index_dir) as s:
        page_ = request.run(s, facets=as_json or show_facets)  # the same call as GET /api/search
    if as_json:
        print_json(page_.to_dict())
    else:
        click.echo(format_page(page_, Style(use_color()), show_facets=show_facets))


@cli.command("similar")
@click.argument("doc_id")
@index_option
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@json_option
@user_errors
def similar_cmd(doc_id, index_dir, limit, as_json):
    """Questions like DOC_ID, most similar first ("has this been asked before?").

    Chosen by the question's key words (tf-idf of its title, question and answer), searched
    with BM25F; the question itself is left out.

    \b
    Example:
        mqt similar 000_f69fb07d1f8a9a60 --limit 5
        mqt similar 000_f69fb07d1f8a9a60 --json
    """
    from .display import Style, format_page
    from .search import Searcher

    with Searcher(index_dir) as s:
        page_ = s.similar(doc_id, limit=limit)
    if as_json:
        print_json(page_.to_dict())
    else:
        click.echo(format_page(page_, Style(use_color())))


@cli.command("show")
@click.argument("doc_id")
@index_option
@json_option
@user_errors
def show_cmd(doc_id, index_dir, as_json):
    """Show one question and its answers in full.

    \b
    Example:
        mqt show 000_f69fb07d1f8a9a60
    """
    from .display import Style, format_question
    from .search import Searcher

    with Searcher(index_dir) as s:
        rec = s.get(doc_id)
    if rec is None:
        raise MqtClickError(f"no question with id {doc_id!r} in {index_dir}")
    if as_json:
        print_json(rec.to_dict())
    else:
        click.echo(format_question(rec, Style(use_color())))


@cli.command("stats")
@index_option
@json_option
@user_errors
def stats_cmd(index_dir, as_json):
    """Document count, date range, top askers and parties, index size and build time.

    \b
    Example:
        mqt stats --json
    """
    from .display import Style, format_stats
    from .search import Searcher

    with Searcher(index_dir) as s:
        st = s.stats()
    if as_json:
        print_json(st.to_dict())
    else:
        click.echo(format_stats(st, Style(use_color())))


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
    Pages: /  (search)  /q/ID  (one question)
    API:   /api/search?q=…  /api/questions/ID  /api/questions/ID/similar
           /api/stats  /healthz  /api/openapi.json

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
    uvicorn.run("searcher.web.app:from_env", factory=True, host=host, port=port, workers=workers,
                access_log=False, server_header=False, timeout_graceful_shutdown=30,
                log_level="info")


def main():
    cli(prog_name="mqt")


if __name__ == "__main__":
    main()

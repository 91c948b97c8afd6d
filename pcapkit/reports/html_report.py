"""One self-contained HTML file about a capture: ``pcapkit report FILE -o report.html``.

The page needs no network access: the CSS is inline, the plots are PNG images inlined
as base64 ``data:`` URLs, and there is no script at all. Its sections are the reports
pcapkit's commands print, with the same values (each table cell is the text of the
command's CSV output):

- capture summary (``pcapkit stats``) and protocol hierarchy (``stats --hierarchy``);
- conversations (``pcapkit flows``), TCP handshakes (``pcapkit handshakes``), RTT per
  stream and direction (``pcapkit rtt --summary``);
- retransmissions and other TCP analysis events per stream (``pcapkit tcp``'s flags);
- expert information (``pcapkit expert``);
- time-sequence, RTT and throughput plots of the busiest TCP streams (by bytes).

The TCP analysis runs once and feeds the handshakes, RTT, retransmission, expert and
plot sections; the dissection that finds the expert findings also gives the protocol
hierarchy; flows and the summary read the file on their own.
Each table holds at most ``max_rows`` rows (the note under it says how many there were).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import os
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    import pandas as pd

MAX_ROWS = 200
BUSIEST_STREAMS = 3
PLOT_KINDS = ("tseq", "rtt", "throughput")

# the flags counted in the retransmission section, with their column names
EVENT_COLUMNS = {
    "tcp.analysis.retransmission": "retransmissions",
    "tcp.analysis.fast_retransmission": "fast_retransmissions",
    "tcp.analysis.spurious_retransmission": "spurious_retransmissions",
    "tcp.analysis.out_of_order": "out_of_order",
    "tcp.analysis.lost_segment": "lost_segments",
    "tcp.analysis.duplicate_ack": "duplicate_acks",
    "tcp.analysis.zero_window": "zero_windows",
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem auto; max-width: 1200px;
       color: #1d1d1f; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 2px solid #d0d7de; padding-bottom: 0.2rem; margin-top: 2rem; }
nav a { margin-right: 1rem; }
.scroll { overflow-x: auto; max-height: 32rem; overflow-y: auto; border: 1px solid #d0d7de; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2rem 0.5rem; border-bottom: 1px solid #eaeef2; text-align: left; white-space: nowrap; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.num { text-align: right; }
tr.Error td:first-child { color: #b42318; font-weight: 600; }
tr.Warn td:first-child { color: #b54708; font-weight: 600; }
.note { color: #57606a; font-size: 0.85rem; }
.error { color: #b42318; font-weight: 600; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
"""


@dataclass(slots=True)
class Section:
    key: str
    title: str
    body: list[str] = field(default_factory=list)


def _cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and rows of ``df`` as the CLI's CSV output writes them."""
    from pcapkit.reports.output import write_csv

    buffer = io.StringIO()
    write_csv(df, buffer)
    text = buffer.getvalue()
    rows = list(csv.reader(io.StringIO(text)))
    return (rows[0] if rows else list(map(str, df.columns))), rows[1:]


def table_html(df: pd.DataFrame, table_id: str, max_rows: int = MAX_ROWS, row_class: str | None = None) -> str:
    """An HTML table of ``df`` (cells as in the CSV output; at most ``max_rows`` rows)."""
    import pandas as pd

    shown = df.head(max_rows)
    header, rows = _cells(shown)
    numeric = [pd.api.types.is_numeric_dtype(shown[c].dtype) and not pd.api.types.is_bool_dtype(shown[c].dtype)
               for c in shown.columns]
    classes = shown[row_class].astype(str).tolist() if row_class else [""] * len(rows)
    out = [f'<div class="scroll"><table id="{table_id}"><thead><tr>']
    out += [f'<th data-column="{html.escape(h)}">{html.escape(h)}</th>' for h in header]
    out.append("</tr></thead><tbody>")
    for row, cls in zip(rows, classes, strict=True):
        out.append(f'<tr class="{html.escape(cls)}">' if cls else "<tr>")
        out += [f'<td class="num">{html.escape(v)}</td>' if num else f"<td>{html.escape(v)}</td>"
                for v, num in zip(row, numeric, strict=True)]
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if df.empty:
        out.append('<p class="note">none</p>')
    if len(df) > max_rows:
        out.append(f'<p class="note">The first {max_rows} of {len(df)} rows; the command\'s CSV output has '
                   "all of them.</p>")
    return "".join(out)


def tcp_events(tcp: pd.DataFrame) -> pd.DataFrame:
    """Per TCP stream with any analysis event: the count of each flag of
    :data:`EVENT_COLUMNS`, most retransmissions first."""
    import numpy as np
    import pandas as pd

    if tcp.empty:
        return pd.DataFrame(columns=["tcp.stream", *EVENT_COLUMNS.values()])
    marked = {name: tcp[field_name].to_numpy(dtype=bool, na_value=False) for field_name, name in EVENT_COLUMNS.items()}
    # only the frames with an event count (a million one-SYN streams: no table of a million zeros)
    rows = np.flatnonzero(np.logical_or.reduce(list(marked.values())))
    flags = pd.DataFrame({name: values[rows].astype("int64") for name, values in marked.items()})
    flags["tcp.stream"] = tcp["tcp.stream"].to_numpy(dtype="int64")[rows]
    per = flags.groupby("tcp.stream", sort=True).sum().reset_index()
    per = per[per[list(EVENT_COLUMNS.values())].sum(axis=1) > 0]
    return per.sort_values(["retransmissions", "tcp.stream"], ascending=[False, True], kind="stable"
                           ).reset_index(drop=True)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def busiest_streams(flows: pd.DataFrame, count: int = BUSIEST_STREAMS) -> list[int]:
    """The tcp.stream of the ``count`` TCP conversations with the most bytes."""
    tcp = flows[flows["proto"].astype(str).str.startswith("tcp") & flows["tcp.stream"].notna()]
    top = tcp.sort_values(["bytes", "tcp.stream"], ascending=[False, True], kind="stable").head(count)
    return [int(s) for s in top["tcp.stream"].tolist()]


def build_report(path: str | PathLike[str], *, max_rows: int = MAX_ROWS, streams: int = BUSIEST_STREAMS,
                 hashes: bool = True, errors: list[str] | None = None) -> str:
    """The HTML text of the report on ``path`` (see the module doc). A damaged file gives
    the report of every frame before the damage with the error shown at the top of the
    page; ``errors`` (a list) then receives the error texts too."""
    import pandas as pd

    from pcapkit.dissect.hierarchy import StackCounts
    from pcapkit.reports.capinfo import capture_info, info_lines_with_dates
    from pcapkit.reports.expert import TCP_COLUMNS as EXPERT_TCP_COLUMNS
    from pcapkit.reports.expert import expert_items, summarize
    from pcapkit.reports.flows import flows
    from pcapkit.reports.handshakes import handshakes
    from pcapkit.reports.memory import release_memory
    from pcapkit.reports.plots import PlotError, analysed_connection, draw
    from pcapkit.reports.rtt import analysed_samples
    from pcapkit.reports.rtt import summarize as rtt_summarize
    from pcapkit.reports.tcp import analysis_table
    from pcapkit.tcpflow.analysed import analyse

    name = os.path.basename(os.fspath(path))
    sections: list[Section] = []

    info = capture_info(path, hashes=hashes)
    summary = pd.DataFrame(info_lines_with_dates(info), columns=["field", "value"])
    sections.append(Section("summary", "Capture summary", [table_html(summary, "summary-table", max_rows)]))

    hierarchy_at = len(sections)  # (filled in from the expert section's dissection below)

    conv = flows(path)
    found = [*info.warnings, *(str(t.attrs["pcapkit.error"]) for t in (conv,) if "pcapkit.error" in t.attrs)]
    sections.append(Section("flows", "Conversations", [table_html(conv, "flows-table", max_rows)]))
    busiest = busiest_streams(conv, streams)
    del conv  # (each table is dropped once its section is made: on a million flows they add up to gigabytes)
    release_memory()  # (and the freed pages handed back before the next stage builds)

    an = analyse(path)
    release_memory()  # (what the segment reader and the analysis built and let go)
    hs = handshakes(an)
    sections.append(Section("handshakes", "TCP handshakes", [table_html(hs, "handshakes-table", max_rows)]))
    del hs
    release_memory()

    rtt = rtt_summarize(analysed_samples(an))
    sections.append(Section("rtt", "RTT per stream and direction (seconds; tshark's ack_rtt)",
                            [table_html(rtt, "rtt-table", max_rows)]))

    figures: list[str] = []  # (drawn now, while the analysis is whole: the table below takes it over)
    for stream in busiest:
        try:
            data = analysed_connection(an, stream, "auto", name)
        except PlotError as exc:
            figures.append(f'<p class="note">stream {stream}: {html.escape(str(exc))}</p>')
            continue
        for kind in PLOT_KINDS:
            fig = draw(data, kind)
            title = html.escape(f"{kind}, stream {stream}")
            figures.append(f'<figure data-stream="{stream}" data-kind="{kind}"><img alt="{title}" '
                           f'src="data:image/png;base64,{_png(fig)}"><figcaption>{title}</figcaption></figure>')
        del data

    # the table is the analysis' last use: it lets the segment columns go as it builds
    # (a million SYNs: the analysis and the whole table together were the report's peak)
    tcp = analysis_table(an, release=True)
    del an
    release_memory()
    events = tcp_events(tcp)
    sections.append(Section("retransmissions", "Retransmissions and other TCP events per stream",
                            [table_html(events, "retransmissions-table", max_rows)]))
    del events
    attrs = tcp.attrs
    tcp = tcp[[c for c in tcp.columns if c in EXPERT_TCP_COLUMNS]]
    tcp.attrs = attrs
    release_memory()

    pairs = StackCounts()
    exp = summarize(expert_items(path, tcp=tcp, protocols=pairs))
    hier = pd.DataFrame(pairs.hierarchy(), columns=["protocol", "frames", "bytes"])
    hier.insert(1, "depth", hier["protocol"].str.count(":"))
    sections.insert(hierarchy_at, Section("hierarchy", "Protocol hierarchy",
                                          [table_html(hier, "hierarchy-table", max_rows)]))
    found += [str(t.attrs["pcapkit.error"]) for t in (tcp, exp) if "pcapkit.error" in t.attrs]
    del tcp
    sections.append(Section("expert", "Expert information",
                            [table_html(exp, "expert-table", max_rows, row_class="severity")]))

    sections.append(Section("plots", f"Plots of the {streams} busiest TCP streams",
                            figures or ['<p class="note">no TCP stream carries data</p>']))
    found = list(dict.fromkeys(found))
    if errors is not None:
        errors.extend(found)
    if found:
        sections.insert(0, Section("errors", "The file is damaged", [
            '<p class="error">' + html.escape(e) + "</p>" for e in found] + [
            '<p class="note">Every table holds the frames read before the damage.</p>']))
    return page(f"pcapkit report: {name}", sections, info.as_dict())


def page(title: str, sections: list[Section], facts: dict[str, Any]) -> str:
    """The HTML document around the sections."""
    packets = facts.get("packets")
    sub = f"{packets} packets" if packets is not None else ""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>", f'<p class="note">{html.escape(sub)}</p>', "<nav>"]
    out += [f'<a href="#{s.key}">{html.escape(s.title.split(" (")[0])}</a>' for s in sections]
    out.append("</nav>")
    for s in sections:
        out.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>')
        out += s.body
        out.append("</section>")
    out.append("</body></html>\n")
    return "\n".join(out)

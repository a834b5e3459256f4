"""CPU time of one PDF statement (statements_pdf plugin), as a statement run renders it.

Run: ``python bench/bench_statement_pdf.py`` (``-n`` statements, default 500). Each statement
has a pay link of its own (a QR code on the coupon: every link differs, as in a real run), a
guarantor, the realistic eight lines over three claims; every fifth a generated history of
4 to 40 lines instead (one to three pages), the dunning stage varying. The statements are
built before the clock starts; only ``render`` is timed, in CPU time of this process.

Prints CPU ms per statement (best of ``--repeat`` passes), the mean file size, and the
SHA-256 of all the PDFs together: a change meant to be a pure speed-up must leave it as it
was. ``--profile`` prints a cProfile of one pass instead (its times are inflated by the
profiler: read the proportions). ``--dump DIR`` writes the PDFs, to compare their text and
drawing between two versions of the code.

``--processes N`` (N >= 1) also renders the same statements as a statement run does with N
worker processes (:mod:`medbill_statements_pdf.pool`, groups of ``PER_TRANSACTION``): the
wall time per statement (best of ``--repeat``, after one pass starting the workers; quote the
machine's load beside it), this process's CPU time per statement, and whether the documents
are byte-identical to those rendered in-process.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import random
import resource
import time
from pathlib import Path

from medbill_statements_pdf.pdf import PdfStatementRenderer
from medbill_statements_pdf.samples import sample_statement

from medbill_core.domain import Statement
from medbill_core.services.pay_links import ALPHABET, CODE_LENGTH, format_code


def statements(count: int) -> list[Statement]:
    """``count`` statements, the same ones on every run (seeded codes and sizes)."""
    seeded = random.Random(14)
    made = []
    for index in range(count):
        code = "".join(seeded.choice(ALPHABET) for _ in range(CODE_LENGTH))
        lines = seeded.randrange(4, 41) if index % 5 == 4 else None
        statement = sample_statement(lines, dunning_stage=index % 5,
                                     statement_number=f"S24-{index:06d}")
        made.append(statement.model_copy(update={
            "pay_url": f"https://pay.example.org/pay?code={code}",
            "pay_code": format_code(code)}))
    return made


def render_all(renderer: PdfStatementRenderer, batch: list[Statement]) -> list[bytes]:
    return [renderer.render(statement).content for statement in batch]


def pooled(renderer: PdfStatementRenderer, batch: list[Statement], processes: int,
           repeat: int) -> tuple[float, float, list[bytes]]:
    """Best wall and CPU seconds of rendering ``batch`` by ``processes`` workers, a run's
    group at a time, and the documents."""
    from medbill_statements_pdf.pool import POOL

    from medbill_core.services.statements import PER_TRANSACTION

    def one_pass() -> list[bytes]:
        contents = []
        for start in range(0, len(batch), PER_TRANSACTION):
            group = batch[start:start + PER_TRANSACTION]
            documents = POOL.render(renderer, group, processes)
            if len(documents) != len(group):
                raise SystemExit("a worker did not render its statements")
            contents += [document.content for document in documents]
        return contents

    contents = one_pass()  # starts the workers
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        contents = one_pass()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, contents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("-n", type=int, default=500, help="statements per pass")
    parser.add_argument("--repeat", type=int, default=3, help="passes; the best is printed")
    parser.add_argument("--profile", action="store_true", help="cProfile one pass")
    parser.add_argument("--dump", type=Path, help="write the PDFs into this folder")
    parser.add_argument("--processes", type=int, default=0,
                        help="also render by this many worker processes")
    args, _ = parser.parse_known_args()  # make bench passes the others' options too
    batch = statements(args.n)
    renderer = PdfStatementRenderer()
    render_all(renderer, batch[:5])  # warm-up: imports, font metrics, QR layouts
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(render_all, renderer, batch)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    best = best_wall = float("inf")
    contents: list[bytes] = []
    for _ in range(args.repeat):
        started, wall = time.process_time(), time.perf_counter()
        contents = render_all(renderer, batch)
        best = min(best, time.process_time() - started)
        best_wall = min(best_wall, time.perf_counter() - wall)
    digest = hashlib.sha256()
    for content in contents:
        digest.update(hashlib.sha256(content).digest())
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for statement, content in zip(batch, contents, strict=True):
            (args.dump / f"{statement.statement_number}.pdf").write_bytes(content)
    size = sum(map(len, contents)) / len(contents)
    print(f"{args.n} statements: {best * 1000 / args.n:.3f} CPU ms per statement "
          f"(best of {args.repeat}), {size:,.0f} bytes each on average, "
          f"sha256 of all {digest.hexdigest()}")
    if args.processes:
        wall, cpu, by_workers = pooled(renderer, batch, args.processes, args.repeat)
        same = "identical" if by_workers == contents else "DIFFERENT"
        from medbill_statements_pdf.pool import POOL

        POOL.close()  # waited for: their CPU time is counted as the children's
        workers_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers_cpu_s = workers_cpu.ru_utime + workers_cpu.ru_stime
        print(f"in this process: {best_wall * 1000 / args.n:.3f} wall ms per statement;"
              f" {args.processes} worker processes: {wall * 1000 / args.n:.3f} wall ms per"
              f" statement, {cpu * 1000 / args.n:.3f} CPU ms of this process; documents {same};"
              f" the workers' CPU {workers_cpu_s:.2f} s in all ({args.repeat + 1} passes of"
              f" {args.n} and their start-up)")


if __name__ == "__main__":
    main()

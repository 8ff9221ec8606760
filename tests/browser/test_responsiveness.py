"""The UI stays responsive while the worker is busy with Python."""
import time

import pytest

BUSY_5_SECONDS = "import time\nt = time.time()\nwhile time.time() - t < 5: pass\n'done'"


@pytest.mark.timeout(120)
def test_a_click_is_handled_within_200_ms_while_python_runs_for_5_seconds(booted):
    page = booted.page
    page.evaluate(
        """(code) => {
            window.__busy = 'running';
            window.__busyDone = nnplay.runPython(code).then(r => { window.__busy = r; });
            // Watch the UI thread's event loop while Python runs: record the longest gap.
            window.__maxGap = 0;
            let last = performance.now();
            window.__gapTimer = setInterval(() => {
                const now = performance.now();
                window.__maxGap = Math.max(window.__maxGap, now - last);
                last = now;
            }, 10);
        }""",
        BUSY_5_SECONDS,
    )
    time.sleep(1.0)  # the worker is now inside the loop

    latencies = []
    for _ in range(3):
        page.evaluate("document.querySelector('#console-output').textContent = 'to be cleared'")
        start = time.perf_counter()
        page.click("#console-clear")  # returns once the browser has dispatched the click
        cleared = page.evaluate("document.querySelector('#console-output').textContent === ''")
        latencies.append(time.perf_counter() - start)
        assert cleared
    assert page.evaluate("window.__busy") == "running", "the clicks must happen while Python is busy"
    print(f"click latencies {[round(x * 1000) for x in latencies]} ms")
    assert max(latencies) < 0.2, latencies

    page.evaluate("window.__busyDone")
    assert page.evaluate("window.__busy") == "done"
    max_gap = page.evaluate("clearInterval(window.__gapTimer), window.__maxGap")
    print(f"longest UI event-loop gap {max_gap:.0f} ms")
    assert max_gap < 100, f"the UI thread stalled for {max_gap:.0f} ms"

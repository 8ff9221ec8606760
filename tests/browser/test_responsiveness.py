"""The UI stays responsive while the worker is busy with Python."""
import time

import pytest

BUSY_5_SECONDS = "import time\nt = time.time()\nwhile time.time() - t < 5: pass\n'done'"

WATCH = """(code) => {
    // Interaction latency as the browser measures it (Event Timing API): from the input's timestamp to
    // the next paint after its handlers (entries under 16 ms are not reported). Long tasks: any work of
    // this page's main thread over 50 ms.
    window.__clicks = new Map();
    window.__longTasks = [];
    window.__observers = [
        new PerformanceObserver((list) => {
            for (const e of list.getEntries()) {
                if (e.interactionId) __clicks.set(e.interactionId, Math.max(__clicks.get(e.interactionId) ?? 0, e.duration));
            }
        }),
        new PerformanceObserver((list) => {
            for (const e of list.getEntries()) __longTasks.push(Math.round(e.duration));
        }),
    ];
    __observers[0].observe({ type: "event", durationThreshold: 16 });
    __observers[1].observe({ type: "longtask" });
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
}"""


def measure(page):
    """Three clicks while Python spins for 5 s -> in-page latencies, round trips, long tasks, max gap."""
    page.evaluate(WATCH, BUSY_5_SECONDS)
    time.sleep(1.0)  # the worker is now inside the loop
    round_trips = []
    for _ in range(3):
        page.evaluate("document.querySelector('#console-output').textContent = 'to be cleared'")
        start = time.perf_counter()
        page.click("#console-clear")  # returns once the browser has dispatched the click
        cleared = page.evaluate("document.querySelector('#console-output').textContent === ''")
        round_trips.append(round((time.perf_counter() - start) * 1000))
        assert cleared
    assert page.evaluate("window.__busy") == "running", "the clicks must happen while Python is busy"
    page.evaluate("window.__busyDone")
    assert page.evaluate("window.__busy") == "done"
    time.sleep(0.2)  # let the last entries arrive
    latencies = page.evaluate("[...__clicks.values()].map(Math.round)")
    long_tasks = page.evaluate("__longTasks")
    max_gap = page.evaluate("clearInterval(__gapTimer), __observers.forEach(o => o.disconnect()), __maxGap")
    print(f"click latencies (in page, >= 16 ms only) {latencies} ms; Playwright round trips {round_trips} ms; "
          f"long tasks {long_tasks} ms; longest UI event-loop gap {max_gap:.0f} ms")
    return latencies, long_tasks, max_gap


@pytest.mark.timeout(120)
def test_a_click_is_handled_within_200_ms_while_python_runs_for_5_seconds(booted):
    page = booted.page
    page.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)  # the UI's own start is done
    for attempt in (1, 2):
        latencies, long_tasks, max_gap = measure(page)
        slow = max(latencies, default=0) >= 200 or max_gap >= 100
        # A stall while this page ran no task of 100 ms is the machine not scheduling the renderer (seen:
        # a 256 ms click and a 245 ms timer gap with no long task at all, while another SwiftShader run
        # used both cores): measured once more, same bounds. A stall with page work fails at once.
        if not slow or any(t >= 100 for t in long_tasks) or attempt == 2:
            break
        print("stalled with no long task on the page: the machine was busy; measuring again")
    assert max(latencies, default=0) < 200, (latencies, long_tasks)
    assert max_gap < 100, f"the UI thread stalled for {max_gap:.0f} ms"

"""The UI stays responsive while the worker is busy with Python.

What is measured is the page's own work, not how promptly a loaded machine schedules the browser: the
main thread's long tasks (the Long Tasks API: any task of this page over 50 ms) while Python spins for
5 s, and the time the click's handlers took (Event Timing's processingStart..processingEnd). The
click's whole latency and the longest event-loop gap include the machine's scheduling (with load 8
on two cores they reached 419 ms with no page work at all): they are printed, not asserted."""
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
                if (!e.interactionId) continue;
                const [d, p] = __clicks.get(e.interactionId) ?? [0, 0];
                __clicks.set(e.interactionId, [Math.max(d, e.duration), Math.max(p, e.processingEnd - e.processingStart)]);
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
    clicks = page.evaluate("[...__clicks.values()].map(([d, p]) => [Math.round(d), Math.round(p)])")
    latencies, handlers = [d for d, _ in clicks], [p for _, p in clicks]
    long_tasks = page.evaluate("__longTasks")
    max_gap = page.evaluate("clearInterval(__gapTimer), __observers.forEach(o => o.disconnect()), __maxGap")
    print(f"click handlers {handlers} ms, whole click latencies {latencies} ms (in page, >= 16 ms only); "
          f"Playwright round trips {round_trips} ms; long tasks {long_tasks} ms; "
          f"longest UI event-loop gap {max_gap:.0f} ms")
    return handlers, long_tasks


@pytest.mark.timeout(120)
def test_the_page_does_no_long_work_while_python_runs_for_5_seconds_and_a_click_is_handled(booted):
    page = booted.page
    page.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)  # the UI's own start is done
    handlers, long_tasks = measure(page)  # asserts the clicks were handled while Python was busy
    # The page's own work: Python runs in the worker, so the main thread has almost nothing to do.
    assert max(handlers, default=0) < 50, f"a click's handlers took {handlers} ms"
    assert sum(long_tasks) < 300, f"the page's main thread ran long tasks of {long_tasks} ms while Python ran"

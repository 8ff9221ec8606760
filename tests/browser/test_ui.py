"""The playground UI by clicks: its own browser context (fresh IndexedDB), 1280x720, screenshots saved."""
import base64
import json

import pytest

from conftest import ARTIFACTS
import harness
from harness import wait_until


def set_field(page, testid, value):
    sel = f"[data-testid='{testid}']"
    page.fill(sel, str(value))
    page.dispatch_event(sel, "change")


def open_app(context, url):
    page = context.new_page()
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"unexpected dialog {d.message}")))
    page.goto(url)
    harness.wait_ready(page)
    page.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)
    return page


@pytest.fixture(scope="module")
def ui(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = open_app(context, server.url)
    yield page
    context.close()


def shot(page, name, full=False):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=full)


def play_until(page, condition, timeout):
    page.click("[data-testid=play]")
    try:
        wait_until(page, condition, timeout)
    except AssertionError:
        shot(page, "timed-out", full=True)
        raise AssertionError(f"not reached: epoch {page.inner_text('#epoch-count')}, "
                             f"{page.inner_text('#rate')} ex/s, val acc {page.inner_text('#val-accuracy')}")
    finally:
        if "Pause" in page.inner_text("[data-testid=play]"):  # a stopped run must not be restarted
            page.click("[data-testid=play]")
        wait_until(page, "document.querySelector('#btn-play').textContent.includes('Play')", 90)


@pytest.mark.timeout(180)
def test_the_spiral_trains_to_95_percent_by_clicks_and_the_heatmap_changes(ui):
    wait_until(ui, "document.querySelector('#totals').textContent.includes('354 parameters')")
    before = ui.evaluate("document.querySelector('#heatmap').toDataURL()")
    # The steps between reaching 95% at an epoch's end and the pause taking effect can move the
    # accuracy again (lr 0.01, batch 16; many steps on a loaded machine): play on until the paused model has it.
    for _ in range(3):
        play_until(ui, "Number(document.querySelector('#val-accuracy').dataset.value) >= 0.95", 120)
        if ui.evaluate("nnplay.evaluate()")["accuracy"] >= 0.95:
            break
    assert ui.evaluate("nnplay.evaluate()")["accuracy"] >= 0.95
    after = ui.evaluate("document.querySelector('#heatmap').toDataURL()")
    assert after != before
    assert int(ui.inner_text("[data-testid=epoch-count]")) > 0
    assert ui.locator("#netpic canvas.np-thumb").count() >= 34 and ui.locator("table.confusion").count() == 1  # every neuron
    shot(ui, "spiral-trained")


def test_step_clicks_made_while_a_step_runs_are_each_one_more_step(ui):
    """Three clicks on Step in one go are three steps: a click while a Step is on its way is queued, not lost."""
    wait_until(ui, "!window.nnplayApp.stepping && !window.nnplayApp.state.training", 60)
    before = ui.evaluate("nnplay.getMetrics().then(m => m.step)")
    ui.evaluate("() => { const b = document.querySelector('[data-testid=step]'); b.click(); b.click(); b.click(); }")
    wait_until(ui, "!window.nnplayApp.stepping", 60)
    assert ui.evaluate("nnplay.getMetrics().then(m => m.step)") == before + 3
    assert "Busy" not in ui.inner_text("#message")


def test_save_reload_restores_network_weights_and_settings(ui):
    set_field(ui, "setting-batchSize", 20)
    accuracy = ui.evaluate("nnplay.evaluate()")["accuracy"]
    harness.wait_autosaved(ui, "s => s.train && s.train.batchSize === 20")
    ui.reload()
    harness.wait_ready(ui)
    ui.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)
    assert ui.input_value("[data-testid=setting-batchSize]") == "20"
    assert ui.evaluate("nnplay.evaluate()")["accuracy"] == accuracy
    assert ui.evaluate("nnplay.getSpec()")["layers"][0]["units"] == 16
    shot(ui, "restored")


def test_an_invalid_layer_parameter_shows_the_engines_message_and_keeps_the_network(ui):
    set_field(ui, "layer-0-units", 0)
    msg = wait_until(ui, "(e => e && !e.hidden && e.textContent)(document.querySelector('[data-testid=layer-0-msg]'))", 10)
    assert "units" in msg and "positive" in msg
    assert ui.is_disabled("[data-testid=play]")
    assert ui.evaluate("nnplay.getSpec()")["layers"][0]["units"] == 16  # the engine still has the good one
    shot(ui, "invalid-layer")
    set_field(ui, "layer-0-units", 16)
    wait_until(ui, "document.querySelector('[data-testid=layer-0-msg]').hidden")


def test_bad_csv_and_corrupt_model_file_show_a_message_and_keep_the_state(ui):
    info = ui.inner_text("[data-testid=data-info]")
    ui.set_input_files("[data-testid=csv-file]", files=[
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": b"a,b,label\n1,2,0\n3,x,1\n"}])
    wait_until(ui, "document.querySelector('#message').textContent.includes('row 3')")
    assert "row 3, column 'b': 'x' is not a number" in ui.inner_text("#message")
    assert ui.inner_text("[data-testid=data-info]") == info
    spec = ui.evaluate("nnplay.getSpec()")
    ui.set_input_files("[data-testid=load-model]", files=[
        {"name": "junk.nnplay", "mimeType": "application/octet-stream", "buffer": b"\x00garbage" * 10}])
    wait_until(ui, "document.querySelector('#message').textContent.includes('junk.nnplay')")
    assert "not an nnplay model file" in ui.inner_text("#message")
    assert ui.evaluate("nnplay.getSpec()") == spec
    shot(ui, "bad-file")


def test_the_share_url_round_trips_network_and_settings(ui, browser, server):
    set_field(ui, "setting-lr", 0.01)
    ui.click("[data-testid=palette-dropout]")
    wait_until(ui, "nnplay.getSpec().then(s => s.layers.length === 4 && s.optimizer.lr === 0.01)")
    ui.click("[data-testid=share]")
    url = ui.input_value("[data-testid=share-url]")
    spec = ui.evaluate("nnplay.getSpec()")
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone, and no autosave
    try:
        page = open_app(context, url)
        assert page.evaluate("nnplay.getSpec()") == spec
        assert page.input_value("[data-testid=setting-lr]") == "0.01"
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the page is wider than the phone"
        shot(page, "shared-phone", full=True)
    finally:
        context.close()


@pytest.mark.parametrize("hash_text", [
    "#s=%%%not-base64",
    "#s=" + base64.urlsafe_b64encode(b"[1,2]").decode(),
    "#s=" + base64.urlsafe_b64encode(json.dumps({
        "spec": {"input": "<img src=x onerror=alert(1)>", "layers": "<script>alert(1)</script>"},
        "settings": {"lr": "<b>1</b>", "dataset": "../../etc"}}).encode()).decode(),
])
def test_a_hostile_url_hash_shows_a_message_and_the_default_network(browser, server, hash_text):
    context = browser.new_context()
    try:
        page = open_app(context, server.url + hash_text)
        assert page.inner_text("#message")
        assert page.evaluate("nnplay.getSpec()")["input"] == [2]
        assert page.locator("img").count() == 0
    finally:
        context.close()


LENET_CLICKS = [("conv2d", {"filters": 6, "kernel_size": 5, "activation": "relu"}), ("maxpool2d", {}),
                ("conv2d", {"filters": 16, "kernel_size": 5, "activation": "relu"}), ("maxpool2d", {}),
                ("flatten", {}), ("dense", {"units": 10})]


def build_lenet_by_clicks(page):
    """MNIST, then a LeNet-like net typed into the builder as fast as Playwright clicks, then Adam and a
    learning rate: every edit reaches the session (the unfinished nets on the way are refused, the edits
    after them are not lost, and the optimizer applies to the finished net, not the one before it)."""
    page.select_option("[data-testid=setting-dataset]", "mnist")
    wait_until(page, "document.querySelector('[data-testid=data-info]').textContent.startsWith('mnist')", 60)
    page.click("[data-testid=clear-layers]")
    set_field(page, "input-shape", "[28, 28, 1]")
    for i, (kind, fields) in enumerate(LENET_CLICKS):
        page.click(f"[data-testid=palette-{kind}]")
        for name, value in fields.items():
            sel = f"[data-testid=layer-{i}-{name}]"
            if name == "activation":
                page.select_option(sel, value)
            else:
                set_field(page, f"layer-{i}-{name}", value)
    page.select_option("[data-testid=setting-optimizer]", "adam")  # MNIST's preset brought ConvNetJS's adadelta
    set_field(page, "setting-lr", 0.002)
    wait_until(page, "nnplay.getSpec().then(s => s.layers.length === 6 && s.input[0] === 28 && "
                     "s.optimizer.type === 'adam' && s.optimizer.lr === 0.002)", 30)
    spec = page.evaluate("nnplay.getSpec()")
    assert [layer["type"] for layer in spec["layers"]] == [kind for kind, _ in LENET_CLICKS]
    assert spec["layers"][2] == {"type": "conv2d", "filters": 16, "kernel_size": 5, "activation": "relu"}
    assert page.evaluate("document.querySelectorAll('#layers > li').length") == 6  # the builder shows the same net
    assert "→ [10]" in page.inner_text("[data-testid=layer-5-shape]")


@pytest.mark.timeout(240)
def test_a_lenet_like_net_built_by_clicks_trains_on_mnist_past_90_percent(ui):
    build_lenet_by_clicks(ui)
    shot(ui, "lenet-built")
    # Clicking Play blurs the focused learning-rate field, whose "change" (same value) once paused the run.
    play_until(ui, "Number(document.querySelector('#val-accuracy').dataset.value) > 0.9", 150)
    assert ui.evaluate("nnplay.evaluate()")["accuracy"] > 0.9
    ui.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    shot(ui, "lenet-trained", full=True)

    # Draw-a-digit: a stroke on the canvas is classified as it is drawn.
    ui.locator("[data-testid=draw]").scroll_into_view_if_needed()
    box = ui.locator("[data-testid=draw]").bounding_box()
    x = box["x"] + box["width"] / 2
    ui.mouse.move(x, box["y"] + box["height"] * 0.15)
    ui.mouse.down()
    ui.mouse.move(x, box["y"] + box["height"] * 0.85, steps=12)
    ui.mouse.up()
    guess = wait_until(ui, "(t => /^[0-9] \\([0-9]+%\\)$/.test(t) && t)(document.querySelector('[data-testid=draw-guess]').textContent)", 20)
    print(f"a vertical stroke is read as {guess}")
    shot(ui, "draw-a-digit")

    # Another preset on the same data is a new network: the trained net's counters must not stay.
    assert ui.inner_text("[data-testid=val-accuracy]").endswith("%")
    ui.select_option("[data-testid=preset]", "mnist")
    wait_until(ui, "nnplay.getSpec().then(s => s.input[0] === 24 && s.layers.length === 6)", 30)  # ConvNetJS MNIST net
    wait_until(ui, "document.querySelector('[data-testid=val-accuracy]').textContent === '–'", 10)
    assert ui.inner_text("[data-testid=epoch-count]") == "0" and ui.inner_text("[data-testid=example-count]") == "0"
    assert ui.evaluate("document.querySelector('[data-testid=epoch-progress]').value") == 0
    assert ui.evaluate("document.querySelector('[data-testid=val-accuracy]').dataset.value") == ""

    # While playing, the button reads "Pause" behind two CSS-drawn bars (no glyph a font may lack).
    ui.click("[data-testid=play]")
    wait_until(ui, "document.querySelector('[data-testid=play]').getAttribute('aria-label') === 'Pause'", 10)
    assert ui.inner_text("[data-testid=play]").strip() == "Pause"
    bars = ui.evaluate("(s => [s.content, s.borderLeftWidth, s.borderRightWidth])(getComputedStyle("
                       "document.querySelector('[data-testid=play]'), '::before'))")
    assert bars[0] == '""' and all(float(w.rstrip("px")) > 2 for w in bars[1:]), bars
    ui.locator("#transport").screenshot(path=str(ARTIFACTS / "ui-pause-button.png"))
    ui.click("[data-testid=play]")
    wait_until(ui, "document.querySelector('#btn-play').textContent.includes('Play')", 60)


@pytest.fixture
def webgpu_ui(webgpu_browser, server):
    """The playground in a Chromium with a WebGPU adapter (SwiftShader, so "auto" picks NumPy)."""
    context = webgpu_browser.new_context(viewport={"width": 1280, "height": 720})
    page = open_app(context, server.url)
    yield page
    context.close()


@pytest.mark.timeout(300)
def test_the_lenet_built_by_clicks_trains_on_webgpu_too(webgpu_ui):
    """With an adapter the same clicks reach the session; auto stays on NumPy (a software adapter), WebGPU
    chosen in the Backend menu then trains the LeNet the builder shows (SwiftShader is slow: a few hundred
    examples, loss falling, rather than 90%)."""
    build_lenet_by_clicks(webgpu_ui)
    webgpu_ui.select_option("[data-testid=setting-backend]", "webgpu")
    wait_until(webgpu_ui, "nnplay.getSpec().then(s => s.backend === 'webgpu')", 60)
    play_until(webgpu_ui, "nnplay.getState().then(s => s.counters.examples >= 400)", 240)
    state = webgpu_ui.evaluate("nnplay.getState()")
    assert state["backend"]["backend"] == "webgpu", state["backend"]
    assert [layer["type"] for layer in state["spec"]["layers"]] == [kind for kind, _ in LENET_CLICKS]
    assert state["spec"]["optimizer"]["type"] == "adam" and state["spec"]["optimizer"]["lr"] == 0.002
    losses = webgpu_ui.evaluate("nnplay.getMetrics()")["step_loss"]
    assert len(losses) >= 10, losses
    assert sum(losses[-5:]) < sum(losses[:5]), losses


def png(pixels):
    """A greyscale PNG of rows of 0..255 values (no image library needed)."""
    import struct
    import zlib
    h, w = len(pixels), len(pixels[0])
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data  # noqa: E731
                                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\0" + bytes(row) for row in pixels)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_images_uploaded_per_class_become_the_dataset_and_a_bad_file_is_refused(ui):
    bar = lambda k: [[255 if (k == 0 and 10 <= x < 18) or (k == 1 and 10 <= y < 18) else 0  # noqa: E731
                      for x in range(28)] for y in range(28)]
    ui.click("#image-upload summary")
    for k in (0, 1):
        set_field(ui, f"image-class-{k}-name", ["vertical", "horizontal"][k])
        ui.set_input_files(f"[data-testid=image-class-{k}-files]", files=[
            {"name": f"{k}-{j}.png", "mimeType": "image/png", "buffer": png(bar(k))} for j in range(5)])
        wait_until(ui, f"document.querySelector('[data-testid=image-class-{k}-count]').textContent === '5 images'", 10)
    ui.set_input_files("[data-testid=image-class-0-files]", files=[
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image at all"}])
    wait_until(ui, "document.querySelector('#message').textContent.includes('notes.png')", 10)
    assert "not an image" in ui.inner_text("#message")
    assert ui.inner_text("[data-testid=image-class-0-count]") == "5 images"  # the class keeps its images
    ui.click("[data-testid=image-use]")
    info = wait_until(ui, "(t => t.startsWith('images') && t)(document.querySelector('[data-testid=data-info]').textContent)", 20)
    assert "vertical horizontal" in info and "8 training and 2 validation" in info
    shot(ui, "images-per-class")


def reload_app(page):
    page.reload()
    harness.wait_ready(page)
    page.wait_for_selector("body[data-app=ready]", state="attached", timeout=60_000)


@pytest.mark.timeout(240)
def test_uploaded_images_come_back_after_a_reload_and_stay_out_of_the_share_link(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})  # its own IndexedDB
    try:
        page = open_app(context, server.url)
        dot = lambda r: [[255 if (x - 14) ** 2 + (y - 14) ** 2 <= r * r else 0 for x in range(28)]  # noqa: E731
                         for y in range(28)]
        page.click("#image-upload summary")
        for k, (name, n) in enumerate([("small dot", 6), ("big dot", 4)]):
            set_field(page, f"image-class-{k}-name", name)
            page.set_input_files(f"[data-testid=image-class-{k}-files]", files=[
                {"name": f"{k}-{j}.png", "mimeType": "image/png", "buffer": png(dot(3 + 6 * k + j % 2))} for j in range(n)])
            wait_until(page, f"document.querySelector('[data-testid=image-class-{k}-count]').textContent === '{n} images'", 10)
        page.click("[data-testid=image-use]")
        info = wait_until(page, "(t => t.startsWith('images') && t)(document.querySelector('[data-testid=data-info]').textContent)", 20)
        assert "classes small dot big dot" in info and "8 training and 2 validation" in info
        wait_until(page, "document.querySelector('[data-testid=setting-dataset]').value === 'images'", 10)
        harness.wait_autosaved(page, "s => s.data && s.data.name === 'images' && Array.isArray(s.uploads) "
                                     "&& s.uploads.filter(c => c.images.length).length === 2")

        reload_app(page)
        if not page.evaluate("document.querySelector('#image-upload').open"):
            page.click("#image-upload summary")
        assert page.input_value("[data-testid=image-class-0-name]") == "small dot"
        assert page.input_value("[data-testid=image-class-1-name]") == "big dot"
        assert page.inner_text("[data-testid=image-class-0-count]") == "6 images"
        assert page.inner_text("[data-testid=image-class-1-count]") == "4 images"
        assert page.input_value("[data-testid=setting-dataset]") == "images"
        assert page.inner_text("[data-testid=data-info]") == info
        shot(page, "images-restored")

        # The share link carries the data choice, never the pictures; opened elsewhere it explains
        # that the images must be uploaded again and starts on the default data.
        wait_until(page, "document.body.dataset.autosaved", 20)  # the restored state is saved (and linked) again
        link = page.input_value("[data-testid=share-url]")
        shared = json.loads(base64.urlsafe_b64decode(link.split("#s=")[1] + "=="))
        assert set(shared) == {"spec", "data", "train"} and shared["data"]["name"] == "images"
        assert "classes" not in shared["data"]["options"]
        assert len(link) < 2000, "the share link holds more than a network and settings"
        other = browser.new_context()
        try:
            elsewhere = open_app(other, link)
            assert "at least two classes" in elsewhere.inner_text("#message")
            assert elsewhere.inner_text("[data-testid=data-info]").startswith("spiral")
            assert elsewhere.input_value("[data-testid=setting-dataset]") == "spiral"
        finally:
            other.close()

        # A damaged autosave of the uploads: a message, an empty panel, the default data; no crash.
        page.evaluate("""() => new Promise((resolve, reject) => {
            const open = indexedDB.open('nnplay', 1);
            open.onsuccess = () => {
              const store = open.result.transaction('autosave', 'readwrite').objectStore('autosave');
              const get = store.get('state');
              get.onsuccess = () => {
                store.put({ ...get.result, uploads: [{ name: 'x', images: ['not base64!'] }] }, 'state');
                store.transaction.oncomplete = () => { open.result.close(); resolve(); };
              };
            };
            open.onerror = () => reject(open.error);
        })""")
        reload_app(page)
        message = page.inner_text("#message")
        assert "autosaved image uploads could not be restored" in message and "image 1 is not 28×28" in message
        assert "at least two classes" in message
        assert page.inner_text("[data-testid=data-info]").startswith("spiral")
        assert page.text_content("[data-testid=image-class-0-count]") == "0 images"  # (the panel may be closed)
        assert page.input_value("[data-testid=image-class-0-name]") == "class 0"
        assert not page.is_disabled("[data-testid=play]")
        shot(page, "images-damaged-autosave")
    finally:
        context.close()


def test_every_visible_control_has_a_label_and_focus_is_visible(ui):
    unlabelled = ui.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(e => e.offsetParent !== null && !(e.labels?.length || e.getAttribute('aria-label')
                 || e.getAttribute('aria-labelledby') || (e.tagName === 'BUTTON' && e.textContent.trim())))
        .map(e => e.outerHTML.slice(0, 100))""")
    assert unlabelled == []
    ui.focus("[data-testid=step]")
    ui.keyboard.press("Tab")  # keyboard focus: :focus-visible applies
    assert ui.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"


def test_a_network_with_joins_shows_its_layer_graph(ui):
    ui.select_option("[data-testid=preset]", "resnet")
    wait_until(ui, "nnplay.getSpec().then(s => s.layers.some(l => l.type === 'add'))", 30)
    assert ui.is_visible("[data-testid=graph]")
    assert ui.locator("[data-testid=graph] path.join").count() >= 1  # the shortcut arcs
    # Every label inside its box; a very long name ends in "…" with the whole name in its tooltip.
    # (Names come from presets, files, links or Python: a model file brings this one.)
    long_name = "the_classifier_head_of_this_small_residual_network"
    model = ui.evaluate("""async n => {
        const spec = await nnplay.getSpec();
        spec.layers[10].name = n;
        await nnplay.setSpec(spec);
        return Array.from(await nnplay.save()); }""", long_name)
    ui.set_input_files("[data-testid=load-model]", files=[
        {"name": "long-name.nnplay", "mimeType": "application/octet-stream", "buffer": bytes(model)}])
    wait_until(ui, "document.querySelector('[data-testid=graph] text.graph-label:last-of-type title')", 20)
    boxes = ui.evaluate("""() => [...document.querySelectorAll('[data-testid=graph] text.graph-label')].map(t => {
        const r = t.previousElementSibling.getBoundingClientRect(), b = t.getBoundingClientRect();
        const svg = t.ownerSVGElement.getBoundingClientRect();
        return {text: t.firstChild.textContent, title: t.querySelector('title')?.textContent ?? null,
                inside: b.left >= r.left && b.right <= r.right && r.right <= svg.right}; })""")
    assert all(b["inside"] for b in boxes), [b for b in boxes if not b["inside"]]
    assert boxes[-1]["text"].endswith("…") and boxes[-1]["title"] == f"{long_name} (dense)"
    assert "globalavgpool2d_9 (globalavgpool2d)" in [b["text"] for b in boxes]  # widened, not cut
    ui.locator("[data-testid=layer-10]").screenshot(path=str(ARTIFACTS / "ui-long-layer-name.png"))
    ui.locator("[data-testid=graph]").scroll_into_view_if_needed()
    shot(ui, "graph")

/* report.js: draws a Noderr report's charts (inlined into every report after the
 * lightweight-charts library). Reads the JSON blob #nd-data written by src/report/report_html.c:
 * {"scenarios": [{"equity": [[time_s, value]...], "drawdown": [[time_s, pct]...],
 *   "markers": [[time_s, code]...]}]} with times strictly ascending. When every chart is drawn
 * it sets document.body.dataset.rendered = "ok"; any error is shown in #nd-errors and sets
 * it to "error", so a headless browser test can tell the two apart. */
(function () {
  'use strict';
  var errors = document.getElementById('nd-errors');
  var failed = false;

  function fail(message) {
    failed = true;
    errors.hidden = false;
    errors.textContent += 'Chart error: ' + message + '\n';
    document.body.dataset.rendered = 'error';
  }

  window.addEventListener('error', function (event) { fail(event.message); });

  /* Marker codes: see the enum in src/report/report_html.c. */
  var MARKERS = [
    { position: 'belowBar', shape: 'arrowUp', color: '#16a34a', text: '' },   /* long entry */
    { position: 'aboveBar', shape: 'arrowDown', color: '#dc2626', text: '' }, /* long exit */
    { position: 'aboveBar', shape: 'arrowDown', color: '#16a34a', text: '' }, /* short entry */
    { position: 'belowBar', shape: 'arrowUp', color: '#dc2626', text: '' },   /* short exit */
    { position: 'aboveBar', shape: 'circle', color: '#ea580c', text: 'halt' } /* breaker */
  ];

  /* Explicit sizes (not autoSize): fitContent must see the real width when it runs, and
   * minBarSpacing must be tiny so that years of hourly bars fit a phone's width. */
  function baseOptions(element) {
    return {
      width: element.clientWidth, height: element.clientHeight,
      layout: { background: { type: 'solid', color: '#ffffff' }, textColor: '#334155',
                fontSize: element.clientWidth < 500 ? 10 : 12, attributionLogo: false },
      grid: { vertLines: { color: '#f1f5f9' }, horzLines: { color: '#f1f5f9' } },
      rightPriceScale: { borderColor: '#e2e8f0', minimumWidth: 76 },
      timeScale: { borderColor: '#e2e8f0', timeVisible: true, secondsVisible: false,
                   minBarSpacing: 0.0001, fixLeftEdge: true, fixRightEdge: true },
      handleScroll: { vertTouchDrag: false },
      crosshair: { mode: 0 }
    };
  }

  function points(list) {
    return list.map(function (p) { return { time: p[0], value: p[1] }; });
  }

  function toMarker(m, size) {
    var style = MARKERS[m[1]] || MARKERS[4];
    return { time: m[0], position: style.position, shape: style.shape, color: style.color,
             text: style.text, size: m[1] === 4 ? 1 : size };
  }

  function isEntry(m) { return m[1] === 0 || m[1] === 2; }

  /* Trade markers thinned by screen space: at most one entry and one exit marker per
   * BUCKET_PX pixels of the visible range (breaker trips always shown), so a dense run still
   * shows where it traded without burying the series; zooming in spreads the trades over more
   * buckets until every one has its marker. The hint says how many are shown. */
  var BUCKET_PX = 6;
  function showMarkers(LC, chart, series, scenario, hint) {
    var plugin = LC.createSeriesMarkers(series, []);
    var total = scenario.markers.filter(function (m) { return m[1] !== 4; }).length;
    function update() {
      var ts = chart.timeScale(), range = ts.getVisibleRange(), seen = {}, shown = 0;
      var kept = scenario.markers.filter(function (m) {
        if (range && (m[0] < range.from || m[0] > range.to)) return false;
        if (m[1] === 4) return true;
        var x = ts.timeToCoordinate(m[0]);
        var key = (x === null ? 'n' : Math.floor(x / BUCKET_PX)) + ':' + (isEntry(m) ? 'e' : 'x');
        if (seen[key]) return false;
        seen[key] = true;
        shown++;
        return true;
      });
      var inside = scenario.markers.filter(function (m) {
        return m[1] !== 4 && (!range || (m[0] >= range.from && m[0] <= range.to));
      }).length;
      plugin.setMarkers(kept.map(function (m) { return toMarker(m, shown < inside ? 0.7 : 1); }));
      if (hint) {
        hint.textContent = shown < inside ? ' \u2014 ' + shown + ' of ' + inside +
          ' trade markers in view (one per ' + BUCKET_PX + ' px; zoom in for all ' + total + ')' : '';
      }
    }
    chart.timeScale().subscribeVisibleLogicalRangeChange(update);
    update();
  }

  /* Bars on which trading was halted get a pale orange band behind the line (an area on its own
   * hidden scale, broken outside the halts), so an idle, halted tail is visible at a glance. */
  function shadeHalts(LC, chart, scenario) {
    var halts = scenario.halts || [];
    if (!halts.length) return;
    var shade = chart.addSeries(LC.AreaSeries, {
      lineColor: 'rgba(234,88,12,0)', topColor: 'rgba(234,88,12,0.12)',
      bottomColor: 'rgba(234,88,12,0.12)', lineWidth: 1, priceScaleId: 'halt',
      priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false,
      autoscaleInfoProvider: function () { return { priceRange: { minValue: 0, maxValue: 1 } }; }
    });
    chart.priceScale('halt').applyOptions({ visible: false, scaleMargins: { top: 0, bottom: 0 } });
    var k = 0;
    shade.setData(scenario.equity.map(function (p) {
      while (k < halts.length && halts[k][1] < p[0]) k++;
      var inside = k < halts.length && p[0] >= halts[k][0];
      return inside ? { time: p[0], value: 1 } : { time: p[0] };
    }));
  }

  function drawPrice(LC, element, scenario, hint) {
    var chart = LC.createChart(element, baseOptions(element));
    var series = chart.addSeries(LC.CandlestickSeries, {
      upColor: '#16a34a', downColor: '#dc2626', borderVisible: false,
      wickUpColor: '#16a34a', wickDownColor: '#dc2626', priceLineVisible: false
    });
    series.setData(scenario.instruments[0].candles.map(function (c) {
      return { time: c[0], open: c[1], high: c[2], low: c[3], close: c[4] };
    }));
    shadeHalts(LC, chart, scenario);
    if (scenario.markers.length) showMarkers(LC, chart, series, scenario, hint);
    chart.timeScale().fitContent();
    return chart;
  }

  function drawEquity(LC, element, scenario, hint) {
    var chart = LC.createChart(element, baseOptions(element));
    var series = chart.addSeries(LC.LineSeries, {
      color: '#2563eb', lineWidth: 2, priceLineVisible: false,
      priceFormat: { type: 'price', precision: 2, minMove: 0.01 }
    });
    series.setData(points(scenario.equity));
    if (scenario.benchmark && scenario.benchmark.length) {
      chart.addSeries(LC.LineSeries, {
        color: '#94a3b8', lineWidth: 1, priceLineVisible: false, lastValueVisible: false,
        title: scenario.benchmark_name || 'benchmark',
        priceFormat: { type: 'price', precision: 2, minMove: 0.01 }
      }).setData(points(scenario.benchmark));
    }
    if (scenario.benchmark && scenario.benchmark.length) {
      /* Buy and hold can grow many times the strategy: a log scale keeps both readable. */
      chart.priceScale('right').applyOptions({ mode: LC.PriceScaleMode.Logarithmic });
    }
    shadeHalts(LC, chart, scenario);
    /* With a price chart above, trades are marked there; the equity keeps the breaker trips. */
    var own = scenario.instruments && scenario.instruments.length ?
      { markers: scenario.markers.filter(function (m) { return m[1] === 4; }) } : scenario;
    if (own.markers.length) showMarkers(LC, chart, series, own, hint);
    chart.timeScale().fitContent();
    return chart;
  }

  function drawDrawdown(LC, element, scenario) {
    var chart = LC.createChart(element, baseOptions(element));
    var series = chart.addSeries(LC.AreaSeries, {
      lineColor: '#dc2626', topColor: 'rgba(220,38,38,0.05)', bottomColor: 'rgba(220,38,38,0.35)',
      invertFilledArea: true, lineWidth: 1, priceLineVisible: false,
      priceFormat: { type: 'custom', minMove: 0.01,
                     formatter: function (v) { return v.toFixed(1) + '%'; } }
    });
    series.setData(points(scenario.drawdown));
    chart.timeScale().fitContent();
    return chart;
  }

  /* The charts of a scenario share one time axis: their series have the same bars, the price
   * scales the same width (baseOptions), and scrolling or zooming one moves the others to the
   * same logical range, so a time is at the same x in every chart. */
  function link(charts) {
    var busy = false;
    /* Price scale widths are known once the charts have drawn: then every chart takes the
     * widest, so the plots have the same width and a time falls at the same x in each. */
    function sameWidth() {
      var width = 0;
      charts.forEach(function (c) { width = Math.max(width, c.priceScale('right').width()); });
      charts.forEach(function (c) {
        c.priceScale('right').applyOptions({ minimumWidth: width });
      });
    }
    sameWidth();
    window.requestAnimationFrame(function () { window.requestAnimationFrame(sameWidth); });
    charts.forEach(function (source) {
      source.timeScale().subscribeVisibleLogicalRangeChange(function (range) {
        if (busy || !range) return;
        busy = true;
        charts.forEach(function (target) {
          if (target !== source) target.timeScale().setVisibleLogicalRange(range);
        });
        busy = false;
      });
    });
  }

  /* A click on a header of a table.sortable sorts its rows by that column (numbers by their
   * data-v value, text as text); a second click reverses the order. */
  function makeSortable(table) {
    var heads = table.querySelectorAll('thead th');
    heads.forEach(function (th, col) {
      th.classList.add('sort');
      th.setAttribute('role', 'button');
      th.addEventListener('click', function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
        function key(row) {
          var cell = row.cells[col];
          if (!cell) return '';
          var v = cell.getAttribute('data-v');
          return v !== null ? parseFloat(v) : cell.textContent;
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (typeof x === 'number' && typeof y === 'number') return dir * (x - y);
          return dir * String(x).localeCompare(String(y));
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  /* Evolve: the Pareto front's members (the scatter's dots and the table's rows) select the
   * equity curve shown beside the scatter; member 1 is shown first. */
  function drawFront(LC, evolve) {
    var element = document.getElementById('pf-eq');
    var label = document.getElementById('pf-label');
    if (!element || !evolve.front.length) return;
    var chart = track(LC.createChart(element, baseOptions(element)), element);
    var series = chart.addSeries(LC.LineSeries, {
      color: '#2563eb', lineWidth: 2, priceLineVisible: false,
      priceFormat: { type: 'price', precision: 2, minMove: 0.01 }
    });
    function select(i) {
      var member = evolve.front[i];
      if (!member) return;
      series.setData(points(member.equity));
      chart.timeScale().fitContent();
      label.textContent = 'Equity of ' + member.label + ' over all the data';
      document.querySelectorAll('[data-member]').forEach(function (el) {
        el.classList.toggle('selected', el.getAttribute('data-member') === String(i));
      });
      document.body.dataset.member = String(i);
    }
    document.querySelectorAll('[data-member]').forEach(function (el) {
      el.addEventListener('click', function () {
        select(parseInt(el.getAttribute('data-member'), 10));
      });
    });
    select(0);
  }

  var drawn = [];

  function track(chart, element) {
    drawn.push({ chart: chart, element: element });
    return chart;
  }

  window.addEventListener('resize', function () {
    drawn.forEach(function (d) {
      d.chart.resize(d.element.clientWidth, d.element.clientHeight);
      d.chart.timeScale().fitContent();
    });
  });

  try {
    if (typeof LightweightCharts === 'undefined') {
      throw new Error('the charting library did not load');
    }
    var LC = LightweightCharts;
    var data = JSON.parse(document.getElementById('nd-data').textContent);
    data.scenarios.forEach(function (scenario, i) {
      var eq = document.getElementById('eq-' + i);
      var dd = document.getElementById('dd-' + i);
      var px = document.getElementById('px-' + i);
      if (!eq || !scenario.equity.length) return;
      var group = [];
      if (px && scenario.instruments && scenario.instruments.length &&
          scenario.instruments[0].candles.length) {
        group.push(track(drawPrice(LC, px, scenario, document.getElementById('pxhint-' + i)), px));
      }
      group.push(track(drawEquity(LC, eq, scenario, document.getElementById('hint-' + i)), eq));
      if (dd && scenario.drawdown.length) group.push(track(drawDrawdown(LC, dd, scenario), dd));
      link(group);
    });
    document.querySelectorAll('table.sortable').forEach(makeSortable);
    if (data.evolve) drawFront(LC, data.evolve);
    /* The widest the page lays out; a phone-width test checks nothing scrolls sideways. */
    document.body.dataset.pageWidth = String(document.documentElement.scrollWidth);
    if (!failed) document.body.dataset.rendered = 'ok';
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  }
})();

"""Dashboards for managers: where each goal stands for an agency or a ministry, which indicators
need attention, the indicator table with its exports, an indicator's page with its charts.

`selectors` reads (a fixed number of queries, whatever the size), `charts` draws SVG on the
server, `tables` holds the django-tables2 table and the django-filter filters, `exports` writes
xlsx and CSV, `views` are the pages (their JSON twins live in `kpitrack.api.dashboards`)."""

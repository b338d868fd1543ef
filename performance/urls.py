from django.urls import path

from . import notification_views, views

urlpatterns = [
    path("work/", views.my_work, name="my-work"),
    path("work/<int:indicator>/q<int:quarter>/", views.entry, name="result-entry"),
    path("work/<int:indicator>/q<int:quarter>/preview/", views.preview, name="result-preview"),
    path("work/<int:indicator>/q<int:quarter>/review/", views.review, name="result-review"),
    path(
        "work/<int:indicator>/q<int:quarter>/evidence/",
        views.evidence_upload,
        name="evidence-upload",
    ),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence-download"),
    path("indicators/<int:indicator>/history/", views.history, name="indicator-history"),
    # Issue 17: 分季目標 (milestones), set by the planning office.
    path("indicators/<int:indicator>/milestones/", views.milestones, name="indicator-milestones"),
    # --- notifications and the completion board (issue 17) ---
    path("notifications/", notification_views.inbox, name="notifications"),
    path("notifications/read/", notification_views.inbox_read_all, name="notifications-read-all"),
    path("notifications/<int:pk>/read/", notification_views.inbox_read, name="notification-read"),
    path("board/", notification_views.board_pick, name="board-pick"),
    path(
        "board/<slug:agency>/<int:year>/q<int:quarter>/",
        notification_views.board,
        name="board",
    ),
    path(
        "board/<slug:agency>/<int:year>/q<int:quarter>/remind/<int:unit>/",
        notification_views.board_remind,
        name="board-remind",
    ),
]

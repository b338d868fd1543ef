"""The review queue (初核, 複核), under /review/: performance/queue_views.py."""

from django.urls import path

from . import queue_views as views

urlpatterns = [
    # `review-queue` takes no argument: where a reviewer's links (menu, landing) point.
    path("", views.index, name="review-queue"),
    path("<slug:agency>/", views.queue, name="review-queue-agency"),
    path("<slug:agency>/approve/", views.approve, name="review-queue-approve"),
    path("<slug:agency>/return/", views.return_one, name="review-queue-return"),
]

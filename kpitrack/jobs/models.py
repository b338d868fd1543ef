from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """One piece of work a user asked for: its kind and parameters, where it stands, its file."""

    class State(models.TextChoices):
        QUEUED = "queued", _("排隊中")
        RUNNING = "running", _("執行中")
        DONE = "done", _("完成")
        FAILED = "failed", _("失敗")
        CANCELLED = "cancelled", _("已取消")

    ACTIVE = (State.QUEUED, State.RUNNING)
    FINISHED = (State.DONE, State.FAILED, State.CANCELLED)

    kind = models.CharField(_("種類"), max_length=40)
    title = models.CharField(_("名稱"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申請人"),
        on_delete=models.CASCADE,
        related_name="jobs",
    )
    # The agency whose data the job reads: its readers may see the job too.
    agency = models.ForeignKey(
        "budget.Agency",
        verbose_name=_("機關"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    # A part of a larger job (one agency's report of a whole ministry's bundle).
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="parts"
    )
    params = models.JSONField(_("參數"), default=dict)
    # The stored export the job makes (kpitrack.reports.exports), so a second request for the
    # same file joins the job already under way instead of starting another.
    key = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(
        _("狀態"), max_length=10, choices=State.choices, default=State.QUEUED, db_index=True
    )
    done = models.PositiveIntegerField(_("已完成"), default=0)
    total = models.PositiveIntegerField(_("總數"), default=0)
    step = models.CharField(_("目前步驟"), max_length=200, blank=True)
    result = models.CharField(_("結果檔案"), max_length=300, blank=True)
    filename = models.CharField(_("下載檔名"), max_length=300, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    reused = models.BooleanField(_("取自已存檔案"), default=False)
    error = models.TextField(_("錯誤訊息"), blank=True)
    # What a job that makes no file did, for its page (a workbook import: the rows it wrote).
    outcome = models.JSONField(_("結果摘要"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(_("執行次數"), default=0)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("開始時間"), null=True, blank=True)
    finished_at = models.DateTimeField(_("結束時間"), null=True, blank=True)
    # Written every few seconds while a process works on the job, or holds it in its pool: a job
    # whose heartbeat stopped belongs to a process that died (execution.fail_stale_jobs).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("背景工作")
        verbose_name_plural = _("背景工作")

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

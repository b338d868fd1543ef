"""Background jobs (issue 16): a job is a database row; a registered kind renders its file.

With CELERY_BROKER_URL set the rows are run by Celery workers (`make worker`); without it by a
small thread pool in each web process. Either way every state, progress figure and result file
lives in the database and in shared storage, so any app server shows and serves any job.
"""

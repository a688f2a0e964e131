-- E-mail threads (starters/email_threads.py): the Message-IDs of mails a complaint was filed or joined from,
-- and of the replies e-mail intake sent, so a reply (In-Reply-To / References) joins its complaint instead
-- of opening a new one. Mails the notifier sent are found by notifications.provider_message_id.
CREATE TABLE intake_email_messages (
    message_id   text PRIMARY KEY,          -- as in the header, angle brackets included
    complaint_id text NOT NULL,
    direction    text NOT NULL CHECK (direction IN ('in', 'out')),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX intake_email_messages_complaint ON intake_email_messages (complaint_id);
CREATE INDEX notifications_email_message_id ON notifications (provider_message_id)
    WHERE channel = 'email' AND provider_message_id IS NOT NULL;

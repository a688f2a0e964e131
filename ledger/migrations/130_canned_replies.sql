-- Canned replies (ledger/canned_replies.py): per category and language, with placeholders the staff UI fills
-- ({customer_name}, {complaint_id}, {promised_time}); supervisors edit them on /staff/canned-replies.
CREATE TABLE canned_replies (
    id         bigserial PRIMARY KEY,
    category   text NOT NULL,
    locale     text NOT NULL,
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    updated_by text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX canned_replies_category ON canned_replies (category, locale);
INSERT INTO canned_replies (category, locale, title, body) VALUES
    ('lost', 'zh-CN', '包裹丢失的核查', '{customer_name}您好，关于投诉 {complaint_id}：我们正在与承运方核查您的包裹去向。我们将在 {promised_time} 前给您答复。'),
    ('lost', 'en', 'Checking your lost parcel', 'Dear {customer_name}, about complaint {complaint_id}: we are tracing your parcel with the carrier. You will hear from us by {promised_time}.'),
    ('damaged', 'zh-CN', '破损的处理', '{customer_name}您好，关于投诉 {complaint_id}：请保留外包装并上传破损照片，我们将据此核定赔付。我们将在 {promised_time} 前给您答复。'),
    ('damaged', 'en', 'Your damaged goods', 'Dear {customer_name}, about complaint {complaint_id}: please keep the packaging and upload photos of the damage; they decide the compensation. You will hear from us by {promised_time}.'),
    ('delayed', 'zh-CN', '延误的处理', '{customer_name}您好，关于投诉 {complaint_id}：我们已督促承运方优先派送您的包裹。我们将在 {promised_time} 前给您答复。'),
    ('delayed', 'en', 'Your delayed delivery', 'Dear {customer_name}, about complaint {complaint_id}: we have asked the carrier to deliver your parcel first. You will hear from us by {promised_time}.'),
    ('spoiled', 'zh-CN', '变质的处理', '{customer_name}您好，关于投诉 {complaint_id}：请拍照保留商品现状，我们正在核查运输温控记录。我们将在 {promised_time} 前给您答复。'),
    ('spoiled', 'en', 'Your spoiled goods', 'Dear {customer_name}, about complaint {complaint_id}: please photograph the goods; we are checking the transport temperature records. You will hear from us by {promised_time}.'),
    ('misdelivered', 'zh-CN', '错发/误投的处理', '{customer_name}您好，关于投诉 {complaint_id}：我们正在联系收件网点追回并改派您的包裹。我们将在 {promised_time} 前给您答复。'),
    ('misdelivered', 'en', 'Your misdelivered parcel', 'Dear {customer_name}, about complaint {complaint_id}: we are contacting the delivery station to recover and redeliver it. You will hear from us by {promised_time}.'),
    ('quality', 'zh-CN', '质量问题的处理', '{customer_name}您好，关于投诉 {complaint_id}：请描述问题并上传照片，我们已请技术人员核查。我们将在 {promised_time} 前给您答复。'),
    ('quality', 'en', 'The quality problem', 'Dear {customer_name}, about complaint {complaint_id}: please describe the problem and upload photos; our engineers are looking into it. You will hear from us by {promised_time}.'),
    ('attitude', 'zh-CN', '服务态度的致歉', '{customer_name}您好，关于投诉 {complaint_id}：对您的不愉快经历我们深表歉意，已安排主管核实。我们将在 {promised_time} 前给您答复。'),
    ('attitude', 'en', 'Our apology', 'Dear {customer_name}, about complaint {complaint_id}: we are sorry for your experience; a supervisor is looking into it. You will hear from us by {promised_time}.'),
    ('invoice', 'zh-CN', '发票问题的处理', '{customer_name}您好，关于投诉 {complaint_id}：我们已转财务部核对您的发票信息。我们将在 {promised_time} 前给您答复。'),
    ('invoice', 'en', 'Your invoice', 'Dear {customer_name}, about complaint {complaint_id}: our finance department is checking your invoice. You will hear from us by {promised_time}.'),
    ('policy', 'zh-CN', '政策咨询的答复', '{customer_name}您好，关于投诉 {complaint_id}：关于您咨询的政策，我们整理了相关说明。我们将在 {promised_time} 前给您答复。'),
    ('policy', 'en', 'About your question', 'Dear {customer_name}, about complaint {complaint_id}: we have put together what our policy says on your question. You will hear from us by {promised_time}.'),
    ('technical', 'zh-CN', '技术问题的处理', '{customer_name}您好，关于投诉 {complaint_id}：我们的技术人员正在排查您反馈的问题。我们将在 {promised_time} 前给您答复。'),
    ('technical', 'en', 'The technical problem', 'Dear {customer_name}, about complaint {complaint_id}: our engineers are investigating the problem you reported. You will hear from us by {promised_time}.'),
    ('other', 'zh-CN', '一般回复', '{customer_name}您好，关于投诉 {complaint_id}：我们已收到您的反馈，正在处理。我们将在 {promised_time} 前给您答复。'),
    ('other', 'en', 'General reply', 'Dear {customer_name}, about complaint {complaint_id}: we have your message and are working on it. You will hear from us by {promised_time}.');

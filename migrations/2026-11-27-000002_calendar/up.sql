-- The workday calendar (工作日历). Periods counted in working days (工作日,
-- e.g. 信访工作条例 Art. 23: an objection within 5 working days) and the
-- last day of periods counted in calendar days (民法典 Art. 203) follow it.
--
-- A day not listed here follows the default week: Monday–Friday are working
-- days, Saturday and Sunday are off. Only exceptions are stored:
--   1 holiday (法定节假日/放假调休): a Monday–Friday that is off;
--   2 make-up workday (调休上班): a Saturday or Sunday that is worked.
-- Values match petition.v1.CalendarDayKind and calendar::rules::DayKind.
-- Admins replace a year's rows through CalendarService.SetCalendarYear.
CREATE TABLE calendar_days (
    day        DATE PRIMARY KEY,
    kind       SMALLINT NOT NULL CHECK (kind IN (1, 2)),
    note       TEXT NOT NULL DEFAULT '' CHECK (char_length(note) <= 100),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Weekend days inside a holiday are off anyway; listing them would hide
    -- a mistake, so a holiday must fall on a weekday (ISO 1 = Monday).
    CONSTRAINT calendar_days_holiday_on_weekday
        CHECK (kind <> 1 OR EXTRACT(ISODOW FROM day) BETWEEN 1 AND 5),
    -- A make-up workday only makes sense on a weekend day.
    CONSTRAINT calendar_days_workday_on_weekend
        CHECK (kind <> 2 OR EXTRACT(ISODOW FROM day) IN (6, 7))
);
-- The primary key's index serves every range scan (one year, or the window
-- around a date that deadline computations load).

-- 2025: 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号,
-- 2024-11-12). Weekend days inside a holiday are not listed.
INSERT INTO calendar_days (day, kind, note) VALUES
    ('2025-01-01', 1, '元旦'),
    ('2025-01-26', 2, '春节调休上班'),
    ('2025-01-28', 1, '春节'),
    ('2025-01-29', 1, '春节'),
    ('2025-01-30', 1, '春节'),
    ('2025-01-31', 1, '春节'),
    ('2025-02-03', 1, '春节'),
    ('2025-02-04', 1, '春节'),
    ('2025-02-08', 2, '春节调休上班'),
    ('2025-04-04', 1, '清明节'),
    ('2025-04-27', 2, '劳动节调休上班'),
    ('2025-05-01', 1, '劳动节'),
    ('2025-05-02', 1, '劳动节'),
    ('2025-05-05', 1, '劳动节'),
    ('2025-06-02', 1, '端午节'),
    ('2025-09-28', 2, '国庆节、中秋节调休上班'),
    ('2025-10-01', 1, '国庆节、中秋节'),
    ('2025-10-02', 1, '国庆节、中秋节'),
    ('2025-10-03', 1, '国庆节、中秋节'),
    ('2025-10-06', 1, '国庆节、中秋节'),
    ('2025-10-07', 1, '国庆节、中秋节'),
    ('2025-10-08', 1, '国庆节、中秋节'),
    ('2025-10-11', 2, '国庆节、中秋节调休上班');

-- 2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04, published
-- by Xinhua the same day). Weekend days inside a holiday are not listed.
INSERT INTO calendar_days (day, kind, note) VALUES
    ('2026-01-01', 1, '元旦'),
    ('2026-01-02', 1, '元旦'),
    ('2026-01-04', 2, '元旦调休上班'),
    ('2026-02-14', 2, '春节调休上班'),
    ('2026-02-16', 1, '春节'),
    ('2026-02-17', 1, '春节'),
    ('2026-02-18', 1, '春节'),
    ('2026-02-19', 1, '春节'),
    ('2026-02-20', 1, '春节'),
    ('2026-02-23', 1, '春节'),
    ('2026-02-28', 2, '春节调休上班'),
    ('2026-04-06', 1, '清明节'),
    ('2026-05-01', 1, '劳动节'),
    ('2026-05-04', 1, '劳动节'),
    ('2026-05-05', 1, '劳动节'),
    ('2026-05-09', 2, '劳动节调休上班'),
    ('2026-06-19', 1, '端午节'),
    ('2026-09-20', 2, '国庆节调休上班'),
    ('2026-09-25', 1, '中秋节'),
    ('2026-10-01', 1, '国庆节'),
    ('2026-10-02', 1, '国庆节'),
    ('2026-10-05', 1, '国庆节'),
    ('2026-10-06', 1, '国庆节'),
    ('2026-10-07', 1, '国庆节'),
    ('2026-10-10', 2, '国庆节调休上班');

-- 2027 and later: not seeded. The State Council publishes each year's
-- schedule around November; admins enter it with SetCalendarYear. Until
-- then such a year follows the default week.

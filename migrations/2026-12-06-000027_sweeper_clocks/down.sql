DROP TABLE legal_aid_clock_marks;
DROP TABLE dispute_clock_marks;

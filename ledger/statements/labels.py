"""The words of a statement in Vietnamese and English: one table, one key per label."""

from __future__ import annotations

from ledger.statements.formatting import Lang

ASSOCIATION = {
    "vi": "Hội Khuyến học thành phố Đà Nẵng",
    "en": "Da Nang Association for Promoting Education",
}

_LABELS: dict[str, tuple[str, str]] = {
    # heading
    "title": ("SAO KÊ TÀI TRỢ", "SPONSOR STATEMENT"),
    "sponsor": ("Nhà tài trợ", "Sponsor"),
    "period": ("Kỳ sao kê", "Period"),
    "period_range": ("từ {start} đến {end}", "from {start} to {end}"),
    "known_at": ("Số liệu ghi nhận đến", "As recorded by"),
    "page": ("Trang {page}/{pages}", "Page {page} of {pages}"),
    "summary": ("Tổng hợp", "Summary"),
    "no_funds": ("Không có khoản cam kết hay đóng góp nào đến cuối kỳ.",
                 "No pledge or gift by the end of the period."),
    # columns and sections
    "fund": ("Quỹ", "Fund"),
    "fund_name": ("Tên quỹ", "Fund name"),
    "section": ("Mục", "Section"),
    "date": ("Ngày", "Date"),
    "description": ("Diễn giải", "Description"),
    "currency": ("Tiền tệ", "Currency"),
    "amount": ("Số tiền", "Amount"),
    "original_amount": ("Số tiền gốc", "Amount given"),
    "original_currency": ("Tiền tệ gốc", "Currency given"),
    "credited": ("Số tiền ghi có", "Amount credited"),
    "paid": ("Đã đóng", "Paid"),
    "outstanding": ("Còn lại", "Outstanding"),
    "overdue": ("Quá hạn", "Overdue"),
    "due": ("Hạn", "Due"),
    "status": ("Trạng thái", "Status"),
    "active": ("Đang hiệu lực", "Active"),
    "cancelled": ("Đã hủy", "Cancelled"),
    "reversed_mark": ("đã hoàn lại", "reversed"),
    "method": ("Hình thức", "Method"),
    "reference": ("Tham chiếu", "Reference"),
    "reason": ("Lý do", "Reason"),
    "pledge": ("Cam kết", "Pledge"),
    "pledges": ("Cam kết tài trợ", "Pledges"),
    "instalment": ("Kỳ hạn đóng", "Instalment"),
    "gift": ("Đóng góp", "Gift"),
    "gifts": ("Các khoản đóng góp trong kỳ", "Gifts in the period"),
    "reversal": ("Hoàn lại", "Reversal"),
    "reversals": ("Các khoản đóng góp bị hoàn lại trong kỳ", "Gifts reversed in the period"),
    "your_totals": ("Đóng góp của nhà tài trợ", "Your giving"),
    "opening": ("Đầu kỳ", "Opening"),
    "closing": ("Cuối kỳ", "Closing"),
    "total": ("Tổng cộng", "Total"),
    # the sponsor's totals
    "opening_given": ("Đã đóng góp đầu kỳ", "Given before the period"),
    "opening_outstanding": ("Cam kết còn lại đầu kỳ", "Pledged outstanding at opening"),
    "pledged": ("Cam kết mới trong kỳ", "Pledged in the period"),
    "received": ("Nhận trong kỳ", "Received in the period"),
    "reversed": ("Hoàn lại trong kỳ", "Reversed in the period"),
    "closing_given": ("Đã đóng góp cuối kỳ", "Given by the end of the period"),
    "closing_outstanding": ("Cam kết còn lại cuối kỳ", "Pledged outstanding at closing"),
    "closing_overdue": ("Quá hạn cuối kỳ", "Overdue at closing"),
    # the fund's part
    "fund_activity": ("Hoạt động của quỹ trong kỳ", "What the fund did in the period"),
    "fund_figures": ("Số liệu của quỹ", "The fund's figures"),
    "fund_opening": ("Số liệu quỹ đầu kỳ", "Fund figures at opening"),
    "fund_closing": ("Số liệu quỹ cuối kỳ", "Fund figures at closing"),
    "fund_flow": ("Phát sinh của quỹ trong kỳ", "Fund movements in the period"),
    "flow_received": ("Tiền tài trợ nhận được", "Gifts received"),
    "flow_reversed": ("Tiền tài trợ hoàn lại", "Gifts reversed"),
    "flow_transferred_in": ("Chuyển đến từ quỹ khác", "Transferred in from other funds"),
    "flow_transferred_out": ("Chuyển sang quỹ khác", "Transferred out to other funds"),
    "flow_allocated": ("Phân bổ cho các đợt", "Allocated to rounds"),
    "flow_released": ("Phân bổ được giải phóng", "Allocations released"),
    "flow_granted": ("Học bổng đã xét cấp", "Awards granted"),
    "flow_disbursed": ("Học bổng đã chi trả", "Awards paid"),
    "flow_returned": ("Học sinh hoàn trả", "Returned by students"),
    "received_total": ("Tổng tài trợ đã nhận", "Received (net)"),
    "cash": ("Tồn quỹ", "Cash"),
    "allocated_unspent": ("Đã phân bổ chưa chi", "Allocated, unspent"),
    "available": ("Khả dụng", "Available"),
    "pledged_outstanding": ("Cam kết chưa đóng", "Pledges outstanding"),
    "transferred_in": ("Tổng chuyển đến", "Transferred in"),
    "transferred_out": ("Tổng chuyển đi", "Transferred out"),
    "disbursed_total": ("Tổng đã chi học bổng", "Awards paid (total)"),
    "returned_total": ("Tổng hoàn trả", "Returned (total)"),
    "awards": ("Học bổng trong kỳ", "Awards in the period"),
    "award": ("Học bổng", "Award"),
    "award_group": ("Học bổng theo đợt, trường, diện", "Awards by round, school, category"),
    "round": ("Đợt", "Round"),
    "student": ("Học sinh", "Student"),
    "school": ("Trường", "School"),
    "category": ("Diện", "Category"),
    "count": ("Số suất", "Awards"),
    "granted": ("Đã xét cấp", "Granted"),
    "award_paid": ("Đã chi", "Paid"),
    "returned": ("Hoàn trả", "Returned"),
    "revoked": ("thu hồi {day}", "revoked {day}"),
    "students": ("Học sinh", "Students"),
    "revoked_note": ("* học bổng đã thu hồi", "* award revoked"),
    "students_note": (
        "Học sinh chỉ được ghi bằng tên viết tắt, trường và diện.",
        "Students are shown only by initials, school and category.",
    ),
    # the digest
    "digest": ("Mã xác thực lịch sử quỹ", "Digest of the fund's history"),
    "digest_line": ("sự kiện #{seq} · SHA-256 {hash}", "event #{seq} · SHA-256 {hash}"),
    "digest_note": (
        "Kiểm toán viên có thể xác nhận sự kiện #{seq} của quỹ {fund} vẫn có mã băm này, "
        "chứng tỏ lịch sử đằng sau sao kê chưa từng bị sửa đổi.",
        "An auditor can confirm that event #{seq} of fund {fund} still has this hash, "
        "which proves the history behind this statement was never rewritten.",
    ),
}


def label(key: str, lang: Lang, **values: object) -> str:
    """The label in the language, with `{placeholders}` filled in."""
    text = _LABELS[key][0 if lang == "vi" else 1]
    return text.format(**values) if values else text


def section_keys() -> list[str]:
    """Every label key (for tests that map labels back to keys)."""
    return list(_LABELS)

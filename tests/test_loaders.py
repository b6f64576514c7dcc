"""Every source kind, good and bad files: nothing aborts the import, nothing is dropped silently."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge import demo_dir, load_sources
from knowledge import loaders as loaders_module
from knowledge.loaders.guangdong import guide_from_record, parse_days

GUIDE_YAML = """\
id: T-0001
name: 个体工商户设立登记
aliases: [开个体户]
materials:
  - name: 经营者身份证明
    form: 原件
    copies: 1
    tolerable: true
legal_days: 15
promised_days: 1
fee: 不收费
"""

GD_ITEMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "gd-items" / "items.jsonl"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def load_one(path: Path):
    report = load_sources([path])
    assert len(report.files) == 1
    return report, report.files[0]


def test_yaml_guide_is_read_with_all_fields(tmp_path):
    report, f = load_one(write(tmp_path / "g.yaml", GUIDE_YAML))
    assert report.ok and f.kind == "guide" and f.sources == 1
    guide = report.sources[0].guide
    assert guide.name == "个体工商户设立登记"
    assert guide.materials[0].tolerable and guide.materials[0].form == "原件"
    assert (guide.legal_days, guide.promised_days) == (15, 1)


def test_a_file_may_hold_a_list_of_guides_in_json(tmp_path):
    data = [
        {"id": "J-1", "name": "甲", "materials": ["身份证"]},
        {"id": "J-2", "name": "乙", "materials": []},
    ]
    report, f = load_one(write(tmp_path / "g.json", json.dumps(data, ensure_ascii=False)))
    assert [s.id for s in report.sources] == ["J-1", "J-2"]
    assert report.sources[0].guide.materials[0].name == "身份证"
    assert any("J-2" in w and "no materials" in w for w in f.warnings)


def test_utf8_bom_is_tolerated(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GUIDE_YAML.encode())
    report, _ = load_one(path)
    assert report.ok and report.sources[0].id == "T-0001"


def test_gbk_files_are_detected_not_garbled(tmp_path):
    csv_path = write(
        tmp_path / "faq.csv", "编号,问题,答案\nq1,营业执照丢了怎么办？,登报声明后申请补领。\n", encoding="gbk"
    )
    yaml_path = write(tmp_path / "g.yml", GUIDE_YAML, encoding="gb18030")
    report = load_sources([csv_path, yaml_path])
    assert report.ok
    faq = next(s for s in report.sources if s.kind == "faq").faq
    assert faq.question == "营业执照丢了怎么办？" and faq.answer == "登报声明后申请补领。"
    assert next(s for s in report.sources if s.kind == "guide").title == "个体工商户设立登记"


def test_malformed_yaml_is_skipped_with_the_line(tmp_path):
    report, f = load_one(write(tmp_path / "bad.yaml", "id: X\nname: [unclosed\nfee: 1\n"))
    assert not report.sources and not report.ok
    assert "malformed YAML" in f.skipped and "line" in f.skipped


def test_guide_without_required_name_is_reported(tmp_path):
    report, f = load_one(write(tmp_path / "noname.yaml", "id: X-1\nfee: 不收费\n"))
    assert not report.sources
    assert "name" in f.skipped


def test_one_bad_guide_in_a_list_keeps_the_good_ones(tmp_path):
    data = [{"id": "A", "name": "好的"}, {"id": "B"}, "not a guide"]
    report, f = load_one(write(tmp_path / "mixed.json", json.dumps(data, ensure_ascii=False)))
    assert [s.id for s in report.sources] == ["A"]
    assert len(f.errors) == 2 and not report.ok


def test_empty_and_unknown_files_are_skipped_with_a_reason(tmp_path):
    empty = write(tmp_path / "empty.yaml", "")
    blank = write(tmp_path / "blank.md", "   \n")
    unknown = write(tmp_path / "notes.txt", "hello")
    report = load_sources([tmp_path])
    reasons = {Path(f.path).name: f.skipped for f in report.files}
    assert reasons[empty.name] == "empty file"
    assert reasons[blank.name] == "empty file"
    assert "unsupported file type '.txt'" in reasons[unknown.name]
    assert not report.ok


def test_undecodable_bytes_are_skipped(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(bytes(range(128, 256)) * 4)
    _, f = load_one(path)
    assert f.skipped and "GBK" in f.skipped


def test_duplicate_id_keeps_the_first_and_names_both_files(tmp_path):
    first = write(tmp_path / "a.yaml", GUIDE_YAML)
    second = write(tmp_path / "b.yaml", GUIDE_YAML.replace("个体工商户设立登记", "另一个"))
    report = load_sources([tmp_path])
    assert [s.title for s in report.sources] == ["个体工商户设立登记"]
    ((path, message),) = report.errors
    assert path == str(second) and str(first) in message and "T-0001" in message


def test_huge_file_loads_and_an_oversized_one_is_skipped(tmp_path, monkeypatch):
    guides = [{"id": f"H-{i}", "name": f"事项{i}", "materials": ["申请表"]} for i in range(20000)]
    big = write(tmp_path / "big.json", json.dumps(guides, ensure_ascii=False))
    report, f = load_one(big)
    assert f.sources == 20000 and report.ok
    monkeypatch.setattr(loaders_module, "MAX_FILE_BYTES", 1024)
    _, f = load_one(big)
    assert "too large" in f.skipped


def test_markdown_front_matter_sets_id_title_and_locations(tmp_path):
    md = "---\nid: doc-1\ntitle: 办事须知\nlocations: [hall-1]\n---\n# 标题\n\n## 取号\n先取号。\n"
    report, f = load_one(write(tmp_path / "rules.md", md))
    doc = report.sources[0].document
    assert (doc.id, doc.title, doc.locations) == ("doc-1", "办事须知", ["hall-1"])
    assert "先取号" in doc.text and f.kind == "markdown"


def test_markdown_without_front_matter_uses_heading_and_stem(tmp_path):
    report, _ = load_one(write(tmp_path / "notice.md", "# 延时服务公告\n\n周六上午开放。"))
    src = report.sources[0]
    assert (src.id, src.title) == ("notice", "延时服务公告")


def test_markdown_with_broken_front_matter_is_skipped(tmp_path):
    _, f = load_one(write(tmp_path / "x.md", "---\nid: [oops\n---\n正文"))
    assert "front matter" in f.skipped


def test_csv_with_english_headers_and_a_bad_row(tmp_path):
    text = "id,question,answer,guide_id,category\nf1,能委托吗？,可以。,T-0001,委托\nf2,空答案,,,\n"
    report, f = load_one(write(tmp_path / "faq.csv", text))
    assert [s.id for s in report.sources] == ["f1"]
    assert report.sources[0].faq.guide_id == "T-0001"
    assert f.errors == ["row 3: question or answer is empty"]


def test_csv_without_question_columns_is_skipped(tmp_path):
    _, f = load_one(write(tmp_path / "other.csv", "name,age\n张三,30\n"))
    assert "question/answer" in f.skipped


def test_xlsx_faq_sheet_with_chinese_headers(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "问题", "答案", "事项编码"])
    sheet.append(["x1", "周六能办吗？", "周六上午9:00-12:00办理。", "T-0001"])
    path = tmp_path / "faq.xlsx"
    book.save(path)
    report, f = load_one(path)
    assert f.kind == "faq-xlsx" and report.sources[0].faq.answer == "周六上午9:00-12:00办理。"


def test_broken_xlsx_is_skipped(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    _, f = load_one(path)
    assert f.skipped


def test_html_keeps_the_text_and_drops_page_chrome(tmp_path):
    page = """<html><head><title>门户 - 办事指南</title><script>var x=1;</script></head><body>
    <nav>首页 | 办事服务 | 互动交流</nav><div class="top-menu">登录 注册</div>
    <main><h1>残疾人证办理指南</h1><h2>申请材料</h2><ul><li>身份证</li><li>近期照片</li></ul>
    <p>办理时限：&nbsp;20个工作日</p></main><footer>版权所有 ©2026 主办单位</footer></body></html>"""
    report, f = load_one(write(tmp_path / "guide-page.html", page))
    doc = report.sources[0].document
    assert doc.title == "残疾人证办理指南" and f.kind == "html"
    assert "近期照片" in doc.text and "## 申请材料" in doc.text and "20个工作日" in doc.text
    for chrome in ("首页", "登录", "版权所有", "var x"):
        assert chrome not in doc.text


def test_pdf_text_is_extracted_and_repeated_page_headers_dropped(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    for page in range(3):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(0, 10, "City Service Portal - printed copy", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 10, f"Section {page + 1}: bring your residence booklet", new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "notice.pdf"
    pdf.output(str(path))
    report, f = load_one(path)
    text = report.sources[0].document.text
    assert f.kind == "pdf" and "Section 3: bring your residence booklet" in text
    assert "printed copy" not in text


def test_broken_pdf_is_skipped(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4 garbage")
    _, f = load_one(path)
    assert f.skipped


def test_docx_headings_and_tables(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("老年人优待证办理须知", level=1)
    d.add_heading("办理条件", level=2)
    d.add_paragraph("年满60周岁的本市户籍老人。")
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "办理地点"
    table.rows[0].cells[1].text = "社区服务站"
    path = tmp_path / "elder.docx"
    d.save(str(path))
    report, f = load_one(path)
    doc = report.sources[0].document
    assert doc.title == "老年人优待证办理须知" and f.kind == "docx"
    assert "## 办理条件" in doc.text and "年满60周岁" in doc.text and "办理地点 | 社区服务站" in doc.text


def test_guangdong_export_is_recognised_by_content_and_mapped(tmp_path):
    lines = GD_ITEMS.read_text(encoding="utf-8").splitlines()[:50]
    path = write(tmp_path / "export.json", "[" + ",".join(lines) + "]")  # not the usual name or extension
    report, f = load_one(path)
    assert f.kind == "guangdong" and f.sources == 50
    first = json.loads(lines[0])
    guide = report.sources[0].guide
    assert guide.id == first["TASK_CODE"] and guide.name == first["TASK_NAME"]
    assert guide.department == first["DEPT_NAME"]
    assert guide.legal_days == 30 and guide.promised_days == 7  # "30(工作日)", "7(工作日)"
    assert guide.window == "广州市越秀区东风中路305号5号楼808房"  # prefix 办理地点： removed
    assert [m.name for m in guide.materials] == first["material_intro"]
    assert first["consult_phone"] in guide.phone and first["complain_phone"] in guide.phone


def test_guangdong_empty_marker_means_empty():
    record = {
        "TASK_CODE": "X1",
        "TASK_NAME": "某事项",
        "material_intro": "无",
        "handle_time": "无",
        "handle_time_limit": "即办",
        "consult_phone": "无",
        "handle_location": "无",
        "CATANAME": "某事项",
    }
    guide = guide_from_record(record)
    assert guide.materials == [] and guide.legal_days is None and guide.promised_days == 0
    assert guide.phone is None and guide.window is None and guide.aliases == []
    assert parse_days("20(工作日)") == 20 and parse_days(None) is None


def test_whole_guangdong_export_loads(tmp_path):
    report = load_sources([GD_ITEMS])
    assert len(report.sources) == 2262 and not report.errors


def test_demo_knowledge_base_loads_cleanly():
    report = load_sources([demo_dir() / "kb"])
    assert report.ok, (report.errors, [(f.path, f.skipped) for f in report.skipped])
    kinds = report.sources_per_kind()
    assert kinds["guide"] >= 60 and kinds["markdown"] >= 8
    assert kinds.get("faq-csv", 0) >= 30
    assert any(s.guide and s.guide.bundle for s in report.sources)


# -- issue 15, item 9 ------------------------------------------------------------------------------
def test_text_fields_accept_bare_numbers_and_flags_but_not_lists(tmp_path):
    guide = GUIDE_YAML + "phone: 12348\nfee: 0\nwindow: 3\nhours: 8.5\nfaq:\n  - q: 电话多少\n    a: 12345\n"
    report, f = load_one(write(tmp_path / "hotline.yaml", guide))
    assert report.ok, report.errors
    g = report.sources[0].guide
    assert (g.phone, g.fee, g.window, g.hours, g.faq[0].a) == ("12348", "0", "3", "8.5", "12345")
    _, f = load_one(write(tmp_path / "listed.yaml", GUIDE_YAML + "phone: [12345, 12348]\n"))
    assert "phone" in f.skipped


def test_which_duplicate_is_kept_does_not_depend_on_the_order_given(tmp_path):
    a = write(tmp_path / "x" / "a.yaml", GUIDE_YAML)
    b = write(tmp_path / "y" / "b.yaml", GUIDE_YAML.replace("个体工商户设立登记", "另一个"))
    for order in ([tmp_path / "x", tmp_path / "y"], [tmp_path / "y", tmp_path / "x"], [b, a]):
        report = load_sources(order)
        assert [s.title for s in report.sources] == ["个体工商户设立登记"]  # the first by sorted path
        ((path, message),) = report.errors
        assert path == str(b) and str(a) in message and "T-0001" in message


def test_a_malformed_duplicate_never_displaces_a_valid_guide(tmp_path):
    # sorted first, but malformed: the same id next to a guide that does not load
    bad = write(
        tmp_path / "a-bad.yaml",
        "- "
        + GUIDE_YAML.replace("个体工商户设立登记", "坏的").replace("\n", "\n  ")
        + "\n- name: 没有编号\n",
    )
    good = write(tmp_path / "b-good.yaml", GUIDE_YAML)
    for order in ([tmp_path], [good, bad], [bad, good]):
        report = load_sources(order)
        assert [s.title for s in report.sources] == ["个体工商户设立登记"]
        about_bad = " ".join(message for path, message in report.errors if path == str(bad))
        assert "guide #2" in about_bad and f"duplicate id T-0001: also defined in {good}" in about_bad


def test_one_id_twice_in_one_file_keeps_the_first(tmp_path):
    twice = json.dumps([{"id": "D-1", "name": "甲"}, {"id": "D-1", "name": "乙"}], ensure_ascii=False)
    report, f = load_one(write(tmp_path / "twice.json", twice))
    assert [s.title for s in report.sources] == ["甲"] and f.sources == 1
    assert "duplicate id D-1: also defined earlier in this file" in f.errors[0]

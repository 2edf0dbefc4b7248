"""What a worker keeps whatever they sign: the outside options, in their language.

Before an agreement is signed the worker acknowledges this text, in the language they read;
the agreement records which version they saw. Change the text → change `VERSION`, so an
acknowledgement always names the words it was given. km and my are drafts by a non-native
writer and say so (`needs_native_review`) until a native speaker has checked them.
"""

from __future__ import annotations

from suara_contracts.agreements import OutsideOptions

VERSION = "2026-11-v1"
NEEDS_REVIEW = frozenset({"km", "my"})

TEXT: dict[str, str] = {
    "en": "Whatever you sign today, you keep your rights. You can still complain to the labour "
          "department, go to the labour tribunal or a court, or contact a lawyer or a workers' "
          "organisation, at any time. Signing this agreement does not take away any right the "
          "law gives you, and nobody may punish you for using them.",
    "id": "Apa pun yang Anda tanda tangani hari ini, hak Anda tetap ada. Anda tetap bisa "
          "mengadu ke dinas tenaga kerja, membawa perkara ke pengadilan atau tribunal "
          "ketenagakerjaan, atau menghubungi pengacara atau organisasi pekerja, kapan saja. "
          "Menandatangani kesepakatan ini tidak menghapus hak apa pun yang diberikan hukum "
          "kepada Anda, dan tidak ada yang boleh menghukum Anda karena menggunakannya.",
    "fil": "Anuman ang pirmahan mo ngayon, nananatili ang iyong mga karapatan. Maaari ka pa ring "
           "magreklamo sa labor department, pumunta sa labor tribunal o korte, o lumapit sa "
           "abogado o samahan ng mga manggagawa, anumang oras. Hindi inaalis ng pagpirma sa "
           "kasunduang ito ang anumang karapatang ibinibigay sa iyo ng batas, at walang "
           "sinumang maaaring magparusa sa iyo dahil ginamit mo ang mga ito.",
    "ms": "Apa sahaja yang anda tandatangani hari ini, hak anda kekal. Anda masih boleh mengadu "
          "kepada jabatan tenaga kerja, membawa kes ke tribunal buruh atau mahkamah, atau "
          "menghubungi peguam atau pertubuhan pekerja, pada bila-bila masa. Menandatangani "
          "perjanjian ini tidak menghapuskan apa-apa hak yang diberikan oleh undang-undang "
          "kepada anda, dan tiada sesiapa boleh menghukum anda kerana menggunakannya.",
    "th": "ไม่ว่าคุณจะลงนามอะไรในวันนี้ สิทธิของคุณยังคงอยู่ คุณยังสามารถร้องเรียนต่อกรมสวัสดิการและ"
          "คุ้มครองแรงงาน ยื่นเรื่องต่อศาลแรงงาน หรือติดต่อทนายความหรือองค์กรแรงงานได้ทุกเมื่อ "
          "การลงนามในข้อตกลงนี้ไม่ได้ทำให้คุณเสียสิทธิใด ๆ ที่กฎหมายให้ไว้ "
          "และไม่มีใครลงโทษคุณได้เพราะคุณใช้สิทธินั้น",
    "vi": "Dù hôm nay bạn ký gì, bạn vẫn giữ các quyền của mình. Bạn vẫn có thể khiếu nại với "
          "cơ quan lao động, đưa vụ việc ra tòa án hoặc hội đồng lao động, hoặc liên hệ luật "
          "sư hay tổ chức của người lao động, bất cứ lúc nào. Việc ký thỏa thuận này không làm "
          "mất bất kỳ quyền nào mà pháp luật trao cho bạn, và không ai được trừng phạt bạn vì "
          "đã sử dụng các quyền đó.",
    # check: draft by a non-native writer; needs review by a native speaker
    "km": "ទោះបីអ្នកចុះហត្ថលេខាលើអ្វីក៏ដោយនៅថ្ងៃនេះ អ្នកនៅតែរក្សាសិទ្ធិរបស់អ្នក។ "
          "អ្នកនៅតែអាចប្តឹងទៅនាយកដ្ឋានការងារ ទៅតុលាការ ឬក្រុមប្រឹក្សាអាជ្ញាកណ្តាលការងារ "
          "ឬទាក់ទងមេធាវី ឬអង្គការកម្មករ គ្រប់ពេលវេលា។ ការចុះហត្ថលេខាលើកិច្ចព្រមព្រៀងនេះ "
          "មិនដកហូតសិទ្ធិណាមួយដែលច្បាប់ផ្តល់ឱ្យអ្នកទេ ហើយគ្មាននរណាអាចដាក់ទោសអ្នក "
          "ដោយសារអ្នកប្រើសិទ្ធិទាំងនោះឡើយ។",
    # check: draft by a non-native writer; needs review by a native speaker
    "my": "ယနေ့ သင် ဘာကိုပဲ လက်မှတ်ထိုးထိုး သင့်အခွင့်အရေးများ ဆက်ရှိနေပါသည်။ "
          "အလုပ်သမားဌာနသို့ တိုင်ကြားခြင်း၊ အလုပ်သမားခုံရုံး သို့မဟုတ် တရားရုံးသို့ သွားခြင်း၊ "
          "ရှေ့နေ သို့မဟုတ် အလုပ်သမားအဖွဲ့အစည်းကို ဆက်သွယ်ခြင်းတို့ကို အချိန်မရွေး "
          "ပြုလုပ်နိုင်ပါသည်။ ဤသဘောတူညီချက်ကို လက်မှတ်ထိုးခြင်းသည် ဥပဒေက သင့်အား ပေးထားသော "
          "မည်သည့်အခွင့်အရေးကိုမျှ ဖယ်ရှားခြင်း မရှိပါ၊ ထိုအခွင့်အရေးများကို "
          "အသုံးပြုသည့်အတွက် မည်သူမျှ သင့်ကို အပြစ်ပေး၍ မရပါ။",
    "zh_Hant": "無論你今天簽署什麼，你的權利依然存在。你仍然可以隨時向勞工部門投訴、向勞資審裁處"
               "或法院提出申索，或聯絡律師或工人組織。簽署這份協議不會剝奪法律賦予你的任何權利，"
               "任何人都不得因你行使這些權利而懲罰你。",
}
LANGUAGES = frozenset(TEXT)


def outside_options(language: str) -> OutsideOptions:
    """The text in `language` (one of `LANGUAGES`)."""
    return OutsideOptions(language=language, version=VERSION, text=TEXT[language],
                          needs_native_review=language in NEEDS_REVIEW)

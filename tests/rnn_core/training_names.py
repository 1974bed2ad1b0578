"""A small fixed list of real dinosaur names for the trainer, checkpoint and CLI tests."""

NAMES = [
    "aardonyx", "abelisaurus", "achelousaurus", "brachiosaurus", "baryonyx", "camarasaurus",
    "diplodocus", "edmontosaurus", "gallimimus", "iguanodon", "kentrosaurus", "leptoceratops",
    "maiasaura", "nodosaurus", "oviraptor", "pachycephalosaurus", "quaesitosaurus", "rugops",
    "stegosaurus", "triceratops", "utahraptor", "velociraptor", "wuerhosaurus", "zuniceratops",
]  # fmt: skip

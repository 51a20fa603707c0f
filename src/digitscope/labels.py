"""The label space every model shares: the digits 0-9, and for models trained with distractors an 11th class.

Its own small module so that code needing only the label (the classifier, scores) does not import the
distractor generator and, through it, every dataset loader.
"""

NOT_A_DIGIT = 10  # the label of every distractor: the 11th class

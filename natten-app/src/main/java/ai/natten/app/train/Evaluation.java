package ai.natten.app.train;

/**
 * Classification results over a dataset.
 *
 * @param loss the mean loss per image
 * @param top1 the fraction of images whose highest logit is the label
 * @param top5 the fraction whose label is among the five highest logits (all, with fewer classes)
 * @param images the number of images evaluated
 */
public record Evaluation(double loss, double top1, double top5, long images) {}

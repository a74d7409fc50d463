package ai.natten.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.natten.zoo.NatModelZoo;
import ai.natten.zoo.nat.NatModel;
import ai.natten.zoo.nat.NatVariants;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** evaluate and predict with a model-zoo variant whose weights sit in a local directory. */
class ZooModelTest {

    @TempDir Path dir;

    @Test
    void zooVariantEvaluatesAndPredictsWithItsSynset() throws Exception {
        Path weights = dir.resolve("nat_mini");
        Files.createDirectories(weights);
        try (Model model = Model.newInstance("nat_mini", Device.cpu(), "PyTorch")) {
            NatModel block = new NatModel(NatVariants.natMini().build());
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 224, 224));
            model.save(weights, "nat_mini");
        }
        List<String> synset = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            synset.add(String.format(Locale.ROOT, "n%05d label %d", i, i));
        }
        Files.write(weights.resolve("synset.txt"), synset);
        Path folder = dir.resolve("val");
        Path image = Fixtures.png(folder.resolve("n00003/a.png"), 0);
        Fixtures.png(folder.resolve("n00007/b.png"), 1);

        Cli.Result evaluate =
                Cli.run(
                        "evaluate",
                        "--zoo",
                        "nat_mini",
                        "--zoo-dir",
                        weights.toString(),
                        "--data",
                        folder.toString(),
                        "--devices",
                        "cpu");
        assertEquals(0, evaluate.exit(), evaluate.toString());
        assertTrue(evaluate.out().contains("(2 images, 2 classes): top-1 "), evaluate.out());

        Cli.Result predict =
                Cli.run(
                        "predict",
                        "--zoo",
                        "nat_mini",
                        "--zoo-dir",
                        weights.toString(),
                        "--top-k",
                        "2",
                        "--devices",
                        "cpu",
                        image.toString());
        assertEquals(0, predict.exit(), predict.toString());
        Criteria<Image, Classifications> criteria =
                Criteria.builder()
                        .setTypes(Image.class, Classifications.class)
                        .optGroupId(NatModelZoo.GROUP_ID)
                        .optArtifactId("nat_mini")
                        .optArgument("modelDir", weights.toString())
                        .build();
        try (ZooModel<Image, Classifications> model = criteria.loadModel();
                Predictor<Image, Classifications> predictor = model.newPredictor()) {
            List<Classifications.Classification> top =
                    predictor.predict(ImageFactory.getInstance().fromFile(image)).topK(2);
            String expected =
                    String.format(
                            Locale.ROOT,
                            "%s:  %s %.2f%%  %s %.2f%%",
                            image,
                            top.get(0).getClassName(),
                            100 * top.get(0).getProbability(),
                            top.get(1).getClassName(),
                            100 * top.get(1).getProbability());
            assertEquals(expected, predict.out().strip());
            assertTrue(top.get(0).getClassName().matches("n\\d{5} label \\d+"));
        }

        Path empty = dir.resolve("empty");
        Files.createDirectories(empty);
        Cli.Result missing =
                Cli.run(
                        "predict",
                        "--zoo",
                        "nat_mini",
                        "--zoo-dir",
                        empty.toString(),
                        image.toString());
        assertEquals(1, missing.exit(), missing.toString());
        assertTrue(
                missing.err().contains("--zoo nat_mini")
                        && missing.err().contains(empty.toString()),
                missing.err());

        Fixtures.png(dir.resolve("cats/cat/c.png"), 2);
        Cli.Result unknownClass =
                Cli.run(
                        "evaluate",
                        "--zoo",
                        "nat_mini",
                        "--zoo-dir",
                        weights.toString(),
                        "--data",
                        dir.resolve("cats").toString());
        assertEquals(2, unknownClass.exit(), unknownClass.toString());
        assertTrue(
                unknownClass.err().contains("dataset class 'cat' is not one of the model's"),
                unknownClass.err());
    }
}

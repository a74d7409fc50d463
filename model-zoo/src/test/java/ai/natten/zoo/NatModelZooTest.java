package ai.natten.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.initializer.NormalInitializer;
import ai.natten.zoo.nat.NatConfig;
import ai.natten.zoo.nat.NatModel;
import ai.natten.zoo.nat.NatVariants;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NatModelZooTest {

    /** A small-input NAT-Mini keeps these tests fast; the architecture is the published one. */
    private static final NatConfig CONFIG =
            NatVariants.natMini().optNumClasses(3).optImageSize(32).build();

    private static Image image;

    @TempDir Path repository;
    private String previousRepository;

    @BeforeAll
    static void makeImage() {
        Random random = new Random(7);
        BufferedImage picture = new BufferedImage(48, 40, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 40; y++) {
            for (int x = 0; x < 48; x++) {
                picture.setRGB(x, y, random.nextInt(1 << 24));
            }
        }
        image = ImageFactory.getInstance().fromImage(picture);
    }

    @BeforeEach
    void pointTheRepositoryAtATemporaryDirectory() {
        previousRepository = System.getProperty(ModelDirectory.REPOSITORY_PROPERTY);
        System.setProperty(ModelDirectory.REPOSITORY_PROPERTY, repository.toString());
    }

    @AfterEach
    void restore() {
        if (previousRepository == null) {
            System.clearProperty(ModelDirectory.REPOSITORY_PROPERTY);
        } else {
            System.setProperty(ModelDirectory.REPOSITORY_PROPERTY, previousRepository);
        }
    }

    @Test
    void zooIsRegisteredWithEveryVariant() {
        ModelZoo zoo = ModelZoo.getModelZoo(NatModelZoo.GROUP_ID);
        assertNotNull(zoo, "NatZooProvider must be found through META-INF/services");
        assertEquals(NatVariants.names().size(), zoo.getModelLoaders().size());
        assertNotNull(zoo.getModelLoader("dinat_large"));
        assertNotNull(zoo.getModelLoader("nat_isotropic_base"));
    }

    @Test
    void loadsACheckpointByArtifactIdAndPredictsAsTheOriginal() throws Exception {
        try (Model original = Model.newInstance("original", "PyTorch")) {
            NatModel block = randomModel(original.getNDManager());
            original.setBlock(block);
            Path dir = Files.createDirectories(repository.resolve("nat_mini"));
            SafetensorsWriter.write(block, dir.resolve("model.safetensors"));
            Files.write(dir.resolve("synset.txt"), List.of("cat", "dog", "bird"));
            Classifications want = predict(original, block);

            Criteria<Image, Classifications> criteria =
                    Criteria.builder()
                            .setTypes(Image.class, Classifications.class)
                            .optGroupId(NatModelZoo.GROUP_ID)
                            .optArtifactId("nat_mini")
                            .optArgument("numClasses", 3)
                            .optArgument("imageSize", 32)
                            .build();
            try (ZooModel<Image, Classifications> model = criteria.loadModel();
                    Predictor<Image, Classifications> predictor = model.newPredictor()) {
                assertSame(want, predictor.predict(image));
                assertTrue(
                        List.of("cat", "dog", "bird")
                                .contains(predictor.predict(image).best().getClassName()));
            }
        }
    }

    @Test
    void loadsFromALocalModelDirectoryThroughDjlsOwnLoader() throws Exception {
        try (Model original = Model.newInstance("original", "PyTorch")) {
            NatModel block = randomModel(original.getNDManager());
            original.setBlock(block);
            Path dir = Files.createDirectories(repository.resolve("elsewhere"));
            SafetensorsWriter.write(block, dir.resolve("weights.safetensors"));
            Files.write(
                    dir.resolve("serving.properties"),
                    List.of(
                            "blockFactory=ai.natten.zoo.NatBlockFactory",
                            "variant=nat_mini",
                            "numClasses=3",
                            "imageSize=32",
                            "option.hasParameter=false"));
            Criteria<Image, Classifications> criteria =
                    Criteria.builder()
                            .setTypes(Image.class, Classifications.class)
                            .optModelPath(dir)
                            .optTranslatorFactory(new NatTranslatorFactory())
                            .optEngine("PyTorch")
                            .build();
            try (ZooModel<Image, Classifications> model = criteria.loadModel();
                    Predictor<Image, Classifications> predictor = model.newPredictor()) {
                assertSame(predict(original, block), predictor.predict(image));
            }
        }
    }

    @Test
    void savedDjlParametersLoadByArtifactId() throws Exception {
        try (Model original = Model.newInstance("dinat_mini", "PyTorch")) {
            NatModel block =
                    new NatModel(NatVariants.dinatMini().optNumClasses(3).optImageSize(32).build());
            block.setInitializer(new NormalInitializer(0.05f), p -> true);
            block.initialize(original.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 32, 32));
            original.setBlock(block);
            original.save(Files.createDirectories(repository.resolve("dinat_mini")), "dinat_mini");
            Criteria<Image, Classifications> criteria =
                    Criteria.builder()
                            .setTypes(Image.class, Classifications.class)
                            .optGroupId(NatModelZoo.GROUP_ID)
                            .optArtifactId("dinat_mini")
                            .optArgument("numClasses", 3)
                            .optArgument("imageSize", 32)
                            .build();
            try (ZooModel<Image, Classifications> model = criteria.loadModel();
                    Predictor<Image, Classifications> predictor = model.newPredictor()) {
                assertSame(predict(original, block), predictor.predict(image));
            }
        }
    }

    @Test
    void randomInitIsExplicitAndMissingWeightsAreAClearError() throws Exception {
        Criteria.Builder<Image, Classifications> builder =
                Criteria.builder()
                        .setTypes(Image.class, Classifications.class)
                        .optGroupId(NatModelZoo.GROUP_ID)
                        .optArtifactId("nat_isotropic_small")
                        .optArgument("numClasses", 4)
                        .optArgument("imageSize", 32);
        ModelNotFoundException e =
                assertThrows(ModelNotFoundException.class, () -> builder.build().loadModel());
        String message =
                String.valueOf(e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
        assertTrue(message.contains("randomInit=true"), message);
        assertTrue(message.contains(repository.resolve("nat_isotropic_small").toString()), message);

        try (ZooModel<Image, Classifications> model =
                        builder.optArgument("randomInit", true).build().loadModel();
                Predictor<Image, Classifications> predictor = model.newPredictor()) {
            Classifications result = predictor.predict(image);
            assertEquals(4, result.items().size());
            double total = result.items().stream().mapToDouble(c -> c.getProbability()).sum();
            assertEquals(1.0, total, 1e-5);
        }
    }

    private static NatModel randomModel(NDManager manager) {
        NatModel block = new NatModel(CONFIG);
        block.setInitializer(new NormalInitializer(0.05f), p -> true);
        block.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 32, 32));
        return block;
    }

    private static Classifications predict(Model model, NatModel block) throws Exception {
        try (Predictor<Image, Classifications> predictor =
                model.newPredictor(NatTranslatorFactory.newTranslator(block, null))) {
            return predictor.predict(image);
        }
    }

    private static void assertSame(Classifications want, Classifications got) {
        assertEquals(want.items().size(), got.items().size());
        for (int i = 0; i < want.items().size(); i++) {
            assertEquals(
                    want.getProbabilities().get(i),
                    got.getProbabilities().get(i),
                    1e-5,
                    "class " + i);
        }
    }
}
